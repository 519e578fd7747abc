//! A filter subject cut into the pieces that wildcard matching walks: literal runs and
//! wildcard tokens.
//!
//! Only wildcards matter to the tree walk, so `foo.bar.*.baz.>` becomes
//! `["foo.bar.", "*", "baz.", ">"]`: a part is either a single `*` or `>` token, or the
//! literal bytes between wildcards. Tree paths cut subjects at arbitrary bytes, so a walk
//! may consume a literal part only partly; [`Parts`] records how much of its first part is
//! already consumed instead of copying it.

pub(crate) const PWC: u8 = b'*';
pub(crate) const FWC: u8 = b'>';
pub(crate) const TSEP: u8 = b'.';

/// Splits `filter` into its literal runs and wildcard tokens. A `*` or `>` counts as a
/// wildcard only when it is a whole token; a `>` that is not the last token ends the
/// parts (nothing after it can match).
pub fn gen_parts(filter: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::with_capacity(8);
    let Some(last) = filter.len().checked_sub(1) else {
        return parts;
    };
    let mut start = 0;
    let mut i = 0;
    while i <= last {
        let c = filter[i];
        if c == TSEP {
            let pwc_token = i < last
                && filter[i + 1] == PWC
                && ((i + 2 <= last && filter[i + 2] == TSEP) || i + 1 == last);
            let fwc_token = i < last && filter[i + 1] == FWC && i + 1 == last;
            if pwc_token || fwc_token {
                if i > start {
                    parts.push(&filter[start..=i]);
                }
                parts.push(&filter[i + 1..i + 2]);
                i += 1;
                // Skip the separator after a `*` that is followed by more tokens.
                if pwc_token && i + 2 <= last {
                    i += 1;
                }
                start = i + 1;
            }
        } else if c == PWC || c == FWC {
            // A wildcard counts only when it fills its whole token.
            let glued_before = i > 0 && filter[i - 1] != TSEP;
            let next = i + 1;
            let glued_after = next == last || (next < last && filter[next] != TSEP);
            if !glued_before && !glued_after {
                if c == FWC && i < last {
                    // `>` must be the last token; what follows can never match.
                    break;
                }
                parts.push(&filter[i..=i]);
                if i < last {
                    // Skip the separator after the wildcard.
                    i += 1;
                }
                start = i + 1;
            }
        }
        i += 1;
    }
    if start < filter.len() {
        if filter[start] == TSEP {
            start += 1;
        }
        parts.push(&filter[start..]);
    }
    parts
}

/// A view of the parts still to match: `list`, with the first `skip` bytes of its first
/// part already consumed.
#[derive(Clone, Copy, Debug)]
pub struct Parts<'a> {
    list: &'a [&'a [u8]],
    skip: usize,
}

impl<'a> Parts<'a> {
    pub fn new(list: &'a [&'a [u8]]) -> Self {
        Parts { list, skip: 0 }
    }

    const EMPTY: Parts<'static> = Parts { list: &[], skip: 0 };

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Part `i`, with the consumed bytes of the first part cut off.
    pub fn get(&self, i: usize) -> &'a [u8] {
        if i == 0 {
            &self.list[0][self.skip..]
        } else {
            self.list[i]
        }
    }

    /// The parts from `i` on.
    fn starting_at(self, i: usize) -> Self {
        if i == 0 {
            self
        } else {
            Parts {
                list: &self.list[i..],
                skip: 0,
            }
        }
    }

    /// Only the last part.
    pub(crate) fn last(self) -> Self {
        self.starting_at(self.list.len().saturating_sub(1))
    }

    /// Whether the last part is the token `>`.
    pub(crate) fn ends_with_fwc(&self) -> bool {
        !self.is_empty() && self.get(self.len() - 1).first() == Some(&FWC)
    }

    /// Whether the last part is the token `*`.
    pub(crate) fn ends_with_pwc(&self) -> bool {
        !self.is_empty() && self.get(self.len() - 1) == [PWC]
    }
}

/// Matches `parts` against a node's path fragment `frag`. Returns `None` if the fragment
/// rules the node out, otherwise the parts left for the nodes below (empty when the
/// parts are used up or a terminal wildcard covers everything further down).
pub fn match_parts<'a>(parts: Parts<'a>, frag: &[u8]) -> Option<Parts<'a>> {
    let frag_len = frag.len();
    if frag_len == 0 {
        return Some(parts);
    }
    let last = parts.len().wrapping_sub(1);
    let mut si = 0;
    for i in 0..parts.len() {
        if si >= frag_len {
            return Some(parts.starting_at(i));
        }
        let part = parts.get(i);
        if part.len() == 1 {
            if part[0] == PWC {
                match frag[si..].iter().position(|&c| c == TSEP) {
                    // The token runs past this fragment: the wildcard is still open for
                    // the nodes below (or done, if it was the last part).
                    None if i == last => return Some(Parts::EMPTY),
                    None => return Some(parts.starting_at(i)),
                    Some(at) => {
                        si += at + 1;
                        continue;
                    }
                }
            } else if part[0] == FWC {
                return Some(Parts::EMPTY);
            }
        }
        let end = (si + part.len()).min(frag_len);
        if part[..end - si] != frag[si..end] {
            return None;
        }
        if end < frag_len {
            // The whole part matched and fragment is left for the next part.
            si = end;
            continue;
        }
        if end < si + part.len() {
            // The fragment ended inside this part: the rest of it is for the nodes below.
            let consumed = frag_len - si;
            let skip = if i == 0 {
                parts.skip + consumed
            } else {
                consumed
            };
            return Some(Parts {
                list: &parts.list[i..],
                skip,
            });
        }
        if i == last {
            return Some(Parts::EMPTY);
        }
        si += part.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts_of(filter: &str) -> Vec<String> {
        gen_parts(filter.as_bytes())
            .into_iter()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect()
    }

    #[test]
    fn splits_at_whole_token_wildcards_only() {
        assert_eq!(parts_of("foo.bar"), ["foo.bar"]);
        assert_eq!(parts_of("foo.*.bar.>"), ["foo.", "*", "bar.", ">"]);
        assert_eq!(parts_of("*.*.*"), ["*", "*", "*"]);
        assert_eq!(parts_of(">"), [">"]);
        assert_eq!(parts_of("foo.*"), ["foo.", "*"]);
        assert_eq!(parts_of("foo*.bar"), ["foo*.bar"]);
        assert_eq!(parts_of("foo.>.bar"), ["foo.>.bar"]);
        assert_eq!(parts_of("'*.*"), ["'*.", "*"]);
    }

    #[test]
    fn partial_fragment_leaves_rest_of_part() {
        let list = gen_parts(b"foo.bar.*");
        let rest = match_parts(Parts::new(&list), b"foo.b").expect("matches");
        assert_eq!(rest.len(), 2);
        assert_eq!(rest.get(0), b"ar.");
        let rest = match_parts(rest, b"ar.").expect("matches");
        assert_eq!(rest.len(), 1);
        assert_eq!(rest.get(0), b"*");
        assert!(match_parts(Parts::new(&list), b"fox").is_none());
    }
}
