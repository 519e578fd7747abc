//! `/subsz` (alias `/subscriptionsz`): sublist statistics and, on request, the
//! subscriptions themselves.

use super::connz::SubDetail;
use super::gotime::GoTime;
use crate::server::ServerShared;
use crate::sublist::SublistStats;
use serde::{Deserialize, Serialize};

/// Default and most subscriptions listed when no `limit` is given.
pub const DEFAULT_SUB_LIST_SIZE: i64 = 1024;

/// Go's `Subsz`; the sublist statistics are inlined.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Subsz {
    #[serde(rename = "server_id")]
    pub id: String,
    pub now: GoTime,
    #[serde(flatten)]
    pub stats: SubszStats,
    pub total: i64,
    pub offset: i64,
    pub limit: i64,
    #[serde(rename = "subscriptions_list", skip_serializing_if = "Vec::is_empty")]
    pub subs: Vec<SubDetail>,
}

/// Go's `SublistStats` as `/subsz` shows it (floats the way Go prints them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubszStats {
    #[serde(rename = "num_subscriptions")]
    pub num_subs: u32,
    pub num_cache: u32,
    pub num_inserts: u64,
    pub num_removes: u64,
    pub num_matches: u64,
    #[serde(serialize_with = "super::gotime::go_f64")]
    pub cache_hit_rate: f64,
    pub max_fanout: u32,
    #[serde(serialize_with = "super::gotime::go_f64")]
    pub avg_fanout: f64,
}

impl From<&SublistStats> for SubszStats {
    fn from(s: &SublistStats) -> Self {
        SubszStats {
            num_subs: s.num_subs,
            num_cache: s.num_cache,
            num_inserts: s.num_inserts,
            num_removes: s.num_removes,
            num_matches: s.num_matches,
            cache_hit_rate: s.cache_hit_rate,
            max_fanout: s.max_fanout,
            avg_fanout: s.avg_fanout,
        }
    }
}

/// Go's `SubszOptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubszOptions {
    pub offset: i64,
    pub limit: i64,
    /// List the subscriptions (`subs=1`).
    pub subscriptions: bool,
    /// Only this account (`acc=`).
    pub account: String,
    /// Only subscriptions a publish on this literal subject would reach (`test=`).
    pub test: String,
}

/// Go's `Server.Subsz`.
pub fn subsz(s: &ServerShared, opts: &SubszOptions) -> Result<Subsz, String> {
    let offset = opts.offset.max(0);
    let limit = if opts.limit <= 0 {
        DEFAULT_SUB_LIST_SIZE
    } else {
        opts.limit
    };
    let test = (!opts.test.is_empty()).then_some(opts.test.as_str());
    if let Some(t) = test {
        if !crate::subject::is_valid_literal_subject(t) {
            return Err(format!(
                "invalid test subject, must be valid publish subject: {t}"
            ));
        }
    }
    // One account, or all of them; an unknown account leaves nothing.
    let accounts = if opts.account.is_empty() {
        s.accounts.all()
    } else {
        s.accounts.lookup(&opts.account).into_iter().collect()
    };
    let included = !accounts.is_empty();
    let mut sz = Subsz {
        id: s.id.clone(),
        now: GoTime::now(),
        offset,
        limit,
        ..Subsz::default()
    };
    if !included {
        return Ok(sz);
    }
    let mut stats = SublistStats::default();
    for a in &accounts {
        stats.add(&a.sublist.stats());
    }
    sz.stats = SubszStats::from(&stats);
    if opts.subscriptions {
        let all: Vec<_> = accounts.iter().flat_map(|a| a.sublist.all()).collect();
        let details: Vec<SubDetail> = all
            .iter()
            .filter(|sub| match test {
                Some(t) => std::str::from_utf8(&sub.subject)
                    .is_ok_and(|subj| crate::subject::match_literal(t, subj)),
                None => true,
            })
            .map(|sub| SubDetail::with_account(sub))
            .collect();
        let n = details.len() as i64;
        let min_off = offset.min(n);
        let max_off = min_off + limit.min(n - min_off);
        sz.total = n;
        sz.subs = details
            [usize::try_from(min_off).unwrap_or(0)..usize::try_from(max_off).unwrap_or(0)]
            .to_vec();
    }
    Ok(sz)
}
