//! The lexer of the NATS configuration language, a byte-level state machine that
//! reproduces nats-server's `conf/lex.go` item for item, including item positions.
//!
//! Positions follow the reference exactly, quirks included, because both the parser's
//! errors and the pedantic value tree report them: `line` counts `\n` bytes (starting at
//! 1); `pos` is a byte offset within the line, measured from the start of the input on
//! line 1 and from the `\n` that opened the line on later lines (so it is 1-based there).
//! A value whose escapes made it shorter than its source reports a position shifted by
//! the difference, as the reference does.
//!
//! The input is bytes: invalid UTF-8 decodes to U+FFFD one byte at a time, a NUL byte is
//! taken as end of input wherever the reference compares with its `eof` rune, and `\x`
//! escapes can produce any byte, so item values are bytes too.

use super::runes::{decode_rune, go_lower_equals, is_digit};
use std::collections::VecDeque;

/// Kinds of lexed items (the reference's `itemType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemType {
    Error,
    Nil,
    Eof,
    Key,
    Text,
    String,
    Bool,
    Integer,
    Float,
    Datetime,
    ArrayStart,
    ArrayEnd,
    MapStart,
    MapEnd,
    CommentStart,
    Variable,
    Include,
}

impl ItemType {
    pub fn name(self) -> &'static str {
        match self {
            ItemType::Error => "Error",
            ItemType::Nil => "NIL",
            ItemType::Eof => "EOF",
            ItemType::Key => "Key",
            ItemType::Text => "Text",
            ItemType::String => "String",
            ItemType::Bool => "Bool",
            ItemType::Integer => "Integer",
            ItemType::Float => "Float",
            ItemType::Datetime => "DateTime",
            ItemType::ArrayStart => "ArrayStart",
            ItemType::ArrayEnd => "ArrayEnd",
            ItemType::MapStart => "MapStart",
            ItemType::MapEnd => "MapEnd",
            ItemType::CommentStart => "CommentStart",
            ItemType::Variable => "Variable",
            ItemType::Include => "Include",
        }
    }
}

/// One lexed item: its kind, its text (escapes resolved), and where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub typ: ItemType,
    pub val: Vec<u8>,
    pub line: usize,
    pub pos: i64,
}

impl Item {
    pub fn new(typ: ItemType, val: &str, line: usize, pos: i64) -> Item {
        Item {
            typ,
            val: val.as_bytes().to_vec(),
            line,
            pos,
        }
    }

    /// The text as a string (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.val).into_owned()
    }
}

impl std::fmt::Display for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "({}, '{}', {}, {})",
            self.typ.name(),
            String::from_utf8_lossy(&self.val),
            self.line,
            self.pos
        )
    }
}

/// The rune the reference uses for "end of input" (a NUL byte reads the same).
const EOF: char = '\0';
const MAP_START: char = '{';
const MAP_END: char = '}';
const KEY_SEP_EQUAL: char = '=';
const KEY_SEP_COLON: char = ':';
const ARRAY_START: char = '[';
const ARRAY_END: char = ']';
const ARRAY_VAL_TERM: char = ',';
const MAP_VAL_TERM: char = ',';
const COMMENT_HASH_START: char = '#';
const COMMENT_SLASH_START: char = '/';
const DQ_STRING_START: char = '"';
const DQ_STRING_END: char = '"';
const SQ_STRING_START: char = '\'';
const SQ_STRING_END: char = '\'';
const OPT_VAL_TERM: char = ';';
const TOP_OPT_START: char = '{';
const TOP_OPT_VAL_TERM: char = ',';
const TOP_OPT_TERM: char = '}';
const BLOCK_START: char = '(';
const BLOCK_END: char = ')';

/// The lexer's states (the reference's state functions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Top,
    TopValueEnd,
    BlockStart,
    BlockValueEnd,
    BlockEnd,
    KeyStart,
    DubQuotedKey,
    QuotedKey,
    IncludeStart,
    IncludeQuotedString,
    IncludeDubQuotedString,
    IncludeString,
    Include,
    Key,
    KeyEnd,
    Value,
    ArrayValue,
    ArrayValueEnd,
    ArrayEnd,
    MapKeyStart,
    MapQuotedKey,
    MapDubQuotedKey,
    MapKey,
    MapKeyEnd,
    MapValue,
    MapValueEnd,
    MapEnd,
    QuotedString,
    DubQuotedString,
    String,
    Block,
    StringEscape,
    StringBinary,
    NumberOrDateOrStringOrIpStart,
    NumberOrDateOrStringOrIp,
    ConvenientNumber,
    DateAfterYear,
    NegNumberStart,
    NegNumber,
    FloatStart,
    Float,
    IpAddr,
    CommentStart,
    Comment,
}

/// What a state step returns: the next state, or `None` when lexing has stopped.
type Next = Option<State>;

/// Lexes a configuration text into [`Item`]s, one at a time.
#[derive(Debug)]
pub struct Lexer<'a> {
    input: &'a [u8],
    start: usize,
    pos: usize,
    width: usize,
    line: usize,
    state: Next,
    items: VecDeque<Item>,
    stack: Vec<State>,
    /// Pieces of a string being assembled around escapes.
    string_parts: Vec<u8>,
    /// Whether any piece was added (even an empty one), as the reference tests it.
    has_string_parts: bool,
    string_state: State,
    /// Offset of the `\n` that started the current line.
    lstart: usize,
    /// Line start as of the current item's start.
    ilstart: usize,
}

impl<'a> Lexer<'a> {
    pub fn new(input: &'a [u8]) -> Lexer<'a> {
        Lexer {
            input,
            start: 0,
            pos: 0,
            width: 0,
            line: 1,
            state: Some(State::Top),
            items: VecDeque::new(),
            stack: Vec::new(),
            string_parts: Vec::new(),
            has_string_parts: false,
            string_state: State::String,
            lstart: 0,
            ilstart: 0,
        }
    }

    /// The next item. After the end (an `Eof` or `Error` item), keeps returning `Eof`.
    pub fn next_item(&mut self) -> Item {
        loop {
            if let Some(item) = self.items.pop_front() {
                return item;
            }
            match self.state {
                Some(s) => self.state = self.step(s),
                None => {
                    return Item {
                        typ: ItemType::Eof,
                        val: Vec::new(),
                        line: self.line,
                        pos: 0,
                    }
                }
            }
        }
    }

    fn step(&mut self, s: State) -> Next {
        match s {
            State::Top => self.lex_top(),
            State::TopValueEnd => self.lex_top_value_end(),
            State::BlockStart => self.lex_block_start(),
            State::BlockValueEnd => self.lex_block_value_end(),
            State::BlockEnd => self.lex_block_end(),
            State::KeyStart => self.lex_key_start(),
            State::DubQuotedKey => self.lex_quoted_key(DQ_STRING_END, State::DubQuotedKey),
            State::QuotedKey => self.lex_quoted_key(SQ_STRING_END, State::QuotedKey),
            State::IncludeStart => self.lex_include_start(),
            State::IncludeQuotedString => self.lex_include_quoted(
                SQ_STRING_END,
                "Unexpected EOF in quoted include",
                State::IncludeQuotedString,
            ),
            State::IncludeDubQuotedString => self.lex_include_quoted(
                DQ_STRING_END,
                "Unexpected EOF in double quoted include",
                State::IncludeDubQuotedString,
            ),
            State::IncludeString => self.lex_include_string(),
            State::Include => self.lex_include(),
            State::Key => self.lex_key(),
            State::KeyEnd => self.lex_key_end(),
            State::Value => self.lex_value(),
            State::ArrayValue => self.lex_array_value(),
            State::ArrayValueEnd => self.lex_array_value_end(),
            State::ArrayEnd => self.lex_array_end(),
            State::MapKeyStart => self.lex_map_key_start(),
            State::MapQuotedKey => self.lex_map_quoted_key(
                SQ_STRING_END,
                "Unexpected EOF processing quoted map key.",
                State::MapQuotedKey,
            ),
            State::MapDubQuotedKey => self.lex_map_quoted_key(
                DQ_STRING_END,
                "Unexpected EOF processing double quoted map key.",
                State::MapDubQuotedKey,
            ),
            State::MapKey => self.lex_map_key(),
            State::MapKeyEnd => self.lex_map_key_end(),
            State::MapValue => self.lex_map_value(),
            State::MapValueEnd => self.lex_map_value_end(),
            State::MapEnd => self.lex_map_end(),
            State::QuotedString => self.lex_quoted_string(),
            State::DubQuotedString => self.lex_dub_quoted_string(),
            State::String => self.lex_string(),
            State::Block => self.lex_block(),
            State::StringEscape => self.lex_string_escape(),
            State::StringBinary => self.lex_string_binary(),
            State::NumberOrDateOrStringOrIpStart => self.lex_number_or_date_start(),
            State::NumberOrDateOrStringOrIp => self.lex_number_or_date(),
            State::ConvenientNumber => self.lex_convenient_number(),
            State::DateAfterYear => self.lex_date_after_year(),
            State::NegNumberStart => self.lex_neg_number_start(),
            State::NegNumber => self.lex_neg_number(),
            State::FloatStart => self.lex_float_start(),
            State::Float => self.lex_float(),
            State::IpAddr => self.lex_ip_addr(),
            State::CommentStart => self.lex_comment_start(),
            State::Comment => self.lex_comment(),
        }
    }

    // ---- primitives ----

    fn push(&mut self, s: State) {
        self.stack.push(s);
    }

    fn pop(&mut self) -> Next {
        match self.stack.pop() {
            Some(s) => Some(s),
            None => self.errorf("BUG in lexer: no states to pop.".to_string()),
        }
    }

    fn slice(&self, from: usize, to: usize) -> &'a [u8] {
        self.input.get(from..to).unwrap_or(&[])
    }

    fn push_item(&mut self, typ: ItemType, val: Vec<u8>) {
        let pos = self.pos as i64 - self.ilstart as i64 - val.len() as i64;
        self.items.push_back(Item {
            typ,
            val,
            line: self.line,
            pos,
        });
        self.start = self.pos;
        self.ilstart = self.lstart;
    }

    fn emit(&mut self, typ: ItemType) {
        let mut val = self.string_parts.clone();
        val.extend_from_slice(self.slice(self.start, self.pos));
        self.push_item(typ, val);
    }

    fn emit_string(&mut self) {
        let val = if self.has_string_parts {
            let mut v = std::mem::take(&mut self.string_parts);
            self.has_string_parts = false;
            v.extend_from_slice(self.slice(self.start, self.pos));
            v
        } else {
            self.slice(self.start, self.pos).to_vec()
        };
        self.push_item(ItemType::String, val);
    }

    fn add_current_string_part(&mut self, offset: usize) {
        let end = self.pos.saturating_sub(offset);
        let part = self.slice(self.start, end);
        self.string_parts.extend_from_slice(part);
        self.has_string_parts = true;
        self.start = self.pos;
    }

    fn add_string_part(&mut self, s: &[u8]) -> Next {
        self.string_parts.extend_from_slice(s);
        self.has_string_parts = true;
        self.start = self.pos;
        Some(self.string_state)
    }

    fn next(&mut self) -> char {
        if self.pos >= self.input.len() {
            self.width = 0;
            return EOF;
        }
        if self.input[self.pos] == b'\n' {
            self.line += 1;
            self.lstart = self.pos;
        }
        let (r, w) = decode_rune(&self.input[self.pos..]);
        self.width = w;
        self.pos += w;
        r
    }

    fn ignore(&mut self) {
        self.start = self.pos;
        self.ilstart = self.lstart;
    }

    fn backup(&mut self) {
        self.pos = self.pos.saturating_sub(self.width);
        if self.pos < self.input.len() && self.input[self.pos] == b'\n' {
            self.line = self.line.saturating_sub(1);
        }
    }

    fn peek(&mut self) -> char {
        let r = self.next();
        self.backup();
        r
    }

    fn errorf(&mut self, msg: String) -> Next {
        self.errorf_bytes(msg.into_bytes())
    }

    fn errorf_bytes(&mut self, msg: Vec<u8>) -> Next {
        let pos = self.pos as i64 - self.lstart as i64;
        self.items.push_back(Item {
            typ: ItemType::Error,
            val: msg,
            line: self.line,
            pos,
        });
        None
    }

    /// Skips what was read so far and goes on with `next`.
    fn skip(&mut self, next: State) -> Next {
        self.ignore();
        Some(next)
    }

    /// Handles the `/` that may open a `//` comment: true when it did (the state to
    /// return to is pushed), false when it was a lone `/` (the peeked rune is put back).
    fn slash_comment(&mut self, back_to: State) -> bool {
        let rn = self.next();
        if rn == COMMENT_SLASH_START {
            self.push(back_to);
            return true;
        }
        self.backup();
        false
    }

    // ---- states ----

    fn lex_top(&mut self) -> Next {
        let r = self.next();
        if r.is_whitespace() {
            return self.skip(State::Top);
        }
        match r {
            TOP_OPT_START => {
                self.push(State::Top);
                return self.skip(State::BlockStart);
            }
            COMMENT_HASH_START => {
                self.push(State::Top);
                return Some(State::CommentStart);
            }
            COMMENT_SLASH_START | EOF => {
                if r == COMMENT_SLASH_START && self.slash_comment(State::Top) {
                    return Some(State::CommentStart);
                }
                if self.pos > self.start {
                    return self.errorf("Unexpected EOF.".to_string());
                }
                self.emit(ItemType::Eof);
                return None;
            }
            _ => {}
        }
        self.backup();
        self.push(State::TopValueEnd);
        Some(State::KeyStart)
    }

    fn lex_top_value_end(&mut self) -> Next {
        let r = self.next();
        if r == COMMENT_HASH_START {
            self.push(State::Top);
            return Some(State::CommentStart);
        }
        if r == COMMENT_SLASH_START {
            if self.slash_comment(State::Top) {
                return Some(State::CommentStart);
            }
            return Some(State::TopValueEnd);
        }
        if is_whitespace(r) {
            return Some(State::TopValueEnd);
        }
        if is_nl(r) || r == EOF || r == OPT_VAL_TERM || r == TOP_OPT_VAL_TERM || r == TOP_OPT_TERM {
            self.ignore();
            return Some(State::Top);
        }
        self.errorf(format!(
            "Expected a top-level value to end with a new line, comment or EOF, but got '{}' instead.",
            esc(r)
        ))
    }

    fn lex_block_start(&mut self) -> Next {
        let r = self.next();
        if r.is_whitespace() {
            return self.skip(State::BlockStart);
        }
        match r {
            TOP_OPT_START => {
                self.push(State::BlockEnd);
                return self.skip(State::BlockStart);
            }
            TOP_OPT_TERM => {
                self.ignore();
                return self.pop();
            }
            COMMENT_HASH_START => {
                self.push(State::BlockStart);
                return Some(State::CommentStart);
            }
            COMMENT_SLASH_START | EOF => {
                if r == COMMENT_SLASH_START && self.slash_comment(State::BlockStart) {
                    return Some(State::CommentStart);
                }
                if self.pos > self.start {
                    return self.errorf("Unexpected EOF.".to_string());
                }
                self.emit(ItemType::Eof);
                return None;
            }
            _ => {}
        }
        self.backup();
        self.push(State::BlockValueEnd);
        Some(State::KeyStart)
    }

    fn lex_block_value_end(&mut self) -> Next {
        let r = self.next();
        if r == COMMENT_HASH_START {
            self.push(State::BlockValueEnd);
            return Some(State::CommentStart);
        }
        if r == COMMENT_SLASH_START {
            if self.slash_comment(State::BlockValueEnd) {
                return Some(State::CommentStart);
            }
            return Some(State::BlockValueEnd);
        }
        if is_whitespace(r) {
            return Some(State::BlockValueEnd);
        }
        if is_nl(r) || r == OPT_VAL_TERM || r == TOP_OPT_VAL_TERM {
            self.ignore();
            return Some(State::BlockStart);
        }
        if r == TOP_OPT_TERM {
            self.backup();
            return Some(State::BlockEnd);
        }
        self.errorf(format!(
            "Expected a block-level value to end with a new line, comment or EOF, but got '{}' instead.",
            esc(r)
        ))
    }

    fn lex_block_end(&mut self) -> Next {
        let r = self.next();
        if r == COMMENT_HASH_START {
            self.push(State::BlockStart);
            return Some(State::CommentStart);
        }
        if r == COMMENT_SLASH_START {
            if self.slash_comment(State::BlockStart) {
                return Some(State::CommentStart);
            }
            return Some(State::BlockEnd);
        }
        if is_nl(r) || is_whitespace(r) {
            return Some(State::BlockEnd);
        }
        if r == OPT_VAL_TERM || r == TOP_OPT_VAL_TERM {
            self.ignore();
            return Some(State::BlockStart);
        }
        if r == TOP_OPT_TERM {
            self.ignore();
            return self.pop();
        }
        self.errorf(format!(
            "Expected a block-level to end with a '}}', but got '{}' instead.",
            esc(r)
        ))
    }

    fn lex_key_start(&mut self) -> Next {
        let r = self.peek();
        if is_key_separator(r) {
            return self.errorf(format!("Unexpected key separator '{}'", esc(r)));
        }
        if r.is_whitespace() {
            self.next();
            return self.skip(State::KeyStart);
        }
        if r == DQ_STRING_START {
            self.next();
            return self.skip(State::DubQuotedKey);
        }
        if r == SQ_STRING_START {
            self.next();
            return self.skip(State::QuotedKey);
        }
        self.ignore();
        self.next();
        Some(State::Key)
    }

    /// A quoted top-level key, up to the closing `quote`.
    fn lex_quoted_key(&mut self, quote: char, me: State) -> Next {
        let r = self.peek();
        if r == quote {
            self.emit(ItemType::Key);
            self.next();
            return self.skip(State::KeyEnd);
        }
        if r == EOF {
            if self.pos > self.start {
                return self.errorf("Unexpected EOF.".to_string());
            }
            self.emit(ItemType::Eof);
            return None;
        }
        self.next();
        Some(me)
    }

    /// After a bare key followed by white space: `include` starts an include, anything
    /// else is a key.
    fn key_check_keyword(&mut self, fall_through: State, push: Option<State>) -> Next {
        let key = self.slice(self.start, self.pos);
        if go_lower_equals(key, "include") {
            self.ignore();
            if let Some(p) = push {
                self.push(p);
            }
            return Some(State::IncludeStart);
        }
        self.emit(ItemType::Key);
        Some(fall_through)
    }

    fn lex_include_start(&mut self) -> Next {
        let r = self.next();
        if is_whitespace(r) {
            return self.skip(State::IncludeStart);
        }
        self.backup();
        Some(State::Include)
    }

    fn lex_include_quoted(&mut self, quote: char, eof_msg: &str, me: State) -> Next {
        let r = self.next();
        if r == quote {
            self.backup();
            self.emit(ItemType::Include);
            self.next();
            self.ignore();
            return self.pop();
        }
        if r == EOF {
            return self.errorf(eof_msg.to_string());
        }
        Some(me)
    }

    fn lex_include_string(&mut self) -> Next {
        let r = self.next();
        if is_nl(r) || r == EOF || r == OPT_VAL_TERM || r == MAP_END || is_whitespace(r) {
            self.backup();
            self.emit(ItemType::Include);
            return self.pop();
        }
        if r == SQ_STRING_END {
            self.backup();
            self.emit(ItemType::Include);
            self.next();
            self.ignore();
            return self.pop();
        }
        Some(State::IncludeString)
    }

    fn lex_include(&mut self) -> Next {
        let r = self.next();
        match r {
            SQ_STRING_START => {
                self.ignore();
                return Some(State::IncludeQuotedString);
            }
            DQ_STRING_START => {
                self.ignore();
                return Some(State::IncludeDubQuotedString);
            }
            ARRAY_START => {
                return self
                    .errorf("Expected include value but found start of an array".to_string())
            }
            MAP_START => {
                return self.errorf("Expected include value but found start of a map".to_string())
            }
            BLOCK_START => {
                return self.errorf("Expected include value but found start of a block".to_string())
            }
            '\\' => {
                return self.errorf("Expected include value but found escape sequence".to_string())
            }
            _ => {}
        }
        if is_digit(r) || r == '-' {
            return self.errorf("Expected include value but found start of a number".to_string());
        }
        if is_nl(r) {
            return self.errorf("Expected include value but found new line".to_string());
        }
        self.backup();
        Some(State::IncludeString)
    }

    fn lex_key(&mut self) -> Next {
        let r = self.peek();
        if r.is_whitespace() {
            return self.key_check_keyword(State::KeyEnd, None);
        }
        if is_key_separator(r) || r == EOF {
            self.emit(ItemType::Key);
            return Some(State::KeyEnd);
        }
        self.next();
        Some(State::Key)
    }

    fn lex_key_end(&mut self) -> Next {
        let r = self.next();
        if r.is_whitespace() {
            return self.skip(State::KeyEnd);
        }
        if is_key_separator(r) {
            return self.skip(State::Value);
        }
        if r == EOF {
            self.emit(ItemType::Eof);
            return None;
        }
        self.backup();
        Some(State::Value)
    }

    fn lex_value(&mut self) -> Next {
        let r = self.next();
        if is_whitespace(r) {
            return self.skip(State::Value);
        }
        match r {
            ARRAY_START => {
                self.ignore();
                self.emit(ItemType::ArrayStart);
                return Some(State::ArrayValue);
            }
            MAP_START => {
                self.ignore();
                self.emit(ItemType::MapStart);
                return Some(State::MapKeyStart);
            }
            SQ_STRING_START => {
                self.ignore();
                return Some(State::QuotedString);
            }
            DQ_STRING_START => {
                self.ignore();
                self.string_state = State::DubQuotedString;
                return Some(State::DubQuotedString);
            }
            '-' => return Some(State::NegNumberStart),
            BLOCK_START => {
                self.ignore();
                return Some(State::Block);
            }
            _ => {}
        }
        if is_digit(r) {
            self.backup();
            return Some(State::NumberOrDateOrStringOrIpStart);
        }
        if r == '.' {
            return self.errorf("Floats must start with a digit".to_string());
        }
        if is_nl(r) {
            return self.errorf("Expected value but found new line".to_string());
        }
        self.backup();
        self.string_state = State::String;
        Some(State::String)
    }

    fn lex_array_value(&mut self) -> Next {
        let r = self.next();
        if r.is_whitespace() {
            return self.skip(State::ArrayValue);
        }
        if r == COMMENT_HASH_START {
            self.push(State::ArrayValue);
            return Some(State::CommentStart);
        }
        if r == COMMENT_SLASH_START && self.slash_comment(State::ArrayValue) {
            return Some(State::CommentStart);
        }
        // A lone '/' is reported like a stray ',' (the reference falls through).
        if r == COMMENT_SLASH_START || r == ARRAY_VAL_TERM {
            return self.errorf(format!(
                "Unexpected array value terminator '{ARRAY_VAL_TERM}'."
            ));
        }
        if r == ARRAY_END {
            return Some(State::ArrayEnd);
        }
        self.backup();
        self.push(State::ArrayValueEnd);
        Some(State::Value)
    }

    fn lex_array_value_end(&mut self) -> Next {
        let r = self.next();
        if is_whitespace(r) {
            return self.skip(State::ArrayValueEnd);
        }
        if r == COMMENT_HASH_START {
            self.push(State::ArrayValueEnd);
            return Some(State::CommentStart);
        }
        if r == COMMENT_SLASH_START && self.slash_comment(State::ArrayValueEnd) {
            return Some(State::CommentStart);
        }
        // A lone '/' separates values like ',' (the reference falls through).
        if r == COMMENT_SLASH_START || r == ARRAY_VAL_TERM || is_nl(r) {
            return self.skip(State::ArrayValue);
        }
        if r == ARRAY_END {
            return Some(State::ArrayEnd);
        }
        self.errorf(format!(
            "Expected an array value terminator \"{ARRAY_VAL_TERM}\" or an array terminator \"{ARRAY_END}\", but got '{}' instead.",
            esc(r)
        ))
    }

    fn lex_array_end(&mut self) -> Next {
        self.ignore();
        self.emit(ItemType::ArrayEnd);
        self.pop()
    }

    fn lex_map_key_start(&mut self) -> Next {
        let r = self.peek();
        if is_key_separator(r) {
            return self.errorf(format!("Unexpected key separator '{}'.", esc(r)));
        }
        if r == ARRAY_END {
            return self.errorf(format!("Unexpected array end '{}' processing map.", esc(r)));
        }
        if r.is_whitespace() {
            self.next();
            return self.skip(State::MapKeyStart);
        }
        match r {
            MAP_END => {
                self.next();
                return self.skip(State::MapEnd);
            }
            COMMENT_HASH_START => {
                self.next();
                self.push(State::MapKeyStart);
                return Some(State::CommentStart);
            }
            COMMENT_SLASH_START => {
                self.next();
                if self.slash_comment(State::MapKeyStart) {
                    return Some(State::CommentStart);
                }
                // A lone '/' starts a key.
            }
            SQ_STRING_START => {
                self.next();
                return self.skip(State::MapQuotedKey);
            }
            DQ_STRING_START => {
                self.next();
                return self.skip(State::MapDubQuotedKey);
            }
            EOF => return self.errorf("Unexpected EOF processing map.".to_string()),
            _ => {}
        }
        self.ignore();
        self.next();
        Some(State::MapKey)
    }

    fn lex_map_quoted_key(&mut self, quote: char, eof_msg: &str, me: State) -> Next {
        let r = self.peek();
        if r == EOF {
            return self.errorf(eof_msg.to_string());
        }
        if r == quote {
            self.emit(ItemType::Key);
            self.next();
            return self.skip(State::MapKeyEnd);
        }
        self.next();
        Some(me)
    }

    fn lex_map_key(&mut self) -> Next {
        let r = self.peek();
        if r == EOF {
            return self.errorf("Unexpected EOF processing map key.".to_string());
        }
        if r.is_whitespace() {
            return self.key_check_keyword(State::MapKeyEnd, Some(State::MapValueEnd));
        }
        if is_key_separator(r) {
            self.emit(ItemType::Key);
            return Some(State::MapKeyEnd);
        }
        self.next();
        Some(State::MapKey)
    }

    fn lex_map_key_end(&mut self) -> Next {
        let r = self.next();
        if r.is_whitespace() {
            return self.skip(State::MapKeyEnd);
        }
        if is_key_separator(r) {
            return self.skip(State::MapValue);
        }
        self.backup();
        Some(State::MapValue)
    }

    fn lex_map_value(&mut self) -> Next {
        let r = self.next();
        if r.is_whitespace() {
            return self.skip(State::MapValue);
        }
        if r == MAP_VAL_TERM {
            return self.errorf(format!(
                "Unexpected map value terminator \"{MAP_VAL_TERM}\"."
            ));
        }
        if r == MAP_END {
            return self.skip(State::MapEnd);
        }
        self.backup();
        self.push(State::MapValueEnd);
        Some(State::Value)
    }

    fn lex_map_value_end(&mut self) -> Next {
        let r = self.next();
        if is_whitespace(r) {
            return self.skip(State::MapValueEnd);
        }
        if r == COMMENT_HASH_START {
            self.push(State::MapValueEnd);
            return Some(State::CommentStart);
        }
        if r == COMMENT_SLASH_START && self.slash_comment(State::MapValueEnd) {
            return Some(State::CommentStart);
        }
        // A lone '/' separates values like ',' (the reference falls through).
        if r == COMMENT_SLASH_START || r == OPT_VAL_TERM || r == MAP_VAL_TERM || is_nl(r) {
            return self.skip(State::MapKeyStart);
        }
        if r == MAP_END {
            return self.skip(State::MapEnd);
        }
        self.errorf(format!(
            "Expected a map value terminator \"{MAP_VAL_TERM}\" or a map terminator \"{MAP_END}\", but got '{}' instead.",
            esc(r)
        ))
    }

    fn lex_map_end(&mut self) -> Next {
        self.ignore();
        self.emit(ItemType::MapEnd);
        self.pop()
    }

    fn is_bool(&self) -> bool {
        let s = self.slice(self.start, self.pos);
        [&b"true"[..], b"false", b"on", b"off", b"yes", b"no"]
            .iter()
            .any(|w| s.eq_ignore_ascii_case(w))
    }

    fn is_variable(&mut self) -> bool {
        if self.start >= self.input.len() {
            return false;
        }
        if self.input[self.start] == b'$' {
            self.start += 1;
            return true;
        }
        false
    }

    fn lex_quoted_string(&mut self) -> Next {
        let r = self.next();
        if r == SQ_STRING_END {
            self.backup();
            self.emit(ItemType::String);
            self.next();
            self.ignore();
            return self.pop();
        }
        if r == EOF {
            if self.pos > self.start {
                return self.errorf("Unexpected EOF.".to_string());
            }
            self.emit(ItemType::Eof);
            return None;
        }
        Some(State::QuotedString)
    }

    fn lex_dub_quoted_string(&mut self) -> Next {
        let r = self.next();
        if r == '\\' {
            self.add_current_string_part(1);
            return Some(State::StringEscape);
        }
        if r == DQ_STRING_END {
            self.backup();
            self.emit_string();
            self.next();
            self.ignore();
            return self.pop();
        }
        if r == EOF {
            if self.pos > self.start {
                return self.errorf("Unexpected EOF.".to_string());
            }
            self.emit(ItemType::Eof);
            return None;
        }
        Some(State::DubQuotedString)
    }

    fn lex_string(&mut self) -> Next {
        let r = self.next();
        if r == '\\' {
            self.add_current_string_part(1);
            return Some(State::StringEscape);
        }
        if is_nl(r)
            || r == EOF
            || r == OPT_VAL_TERM
            || r == ARRAY_VAL_TERM
            || r == ARRAY_END
            || r == MAP_END
            || is_whitespace(r)
        {
            self.backup();
            if self.has_string_parts {
                self.emit_string();
            } else if self.is_bool() {
                self.emit(ItemType::Bool);
            } else if self.is_variable() {
                self.emit(ItemType::Variable);
            } else {
                self.emit_string();
            }
            return self.pop();
        }
        if r == SQ_STRING_END {
            self.backup();
            self.emit_string();
            self.next();
            self.ignore();
            return self.pop();
        }
        Some(State::String)
    }

    fn lex_block(&mut self) -> Next {
        let r = self.next();
        if r == BLOCK_END {
            self.backup();
            self.backup();
            // The block ends only at a ')' alone on its line.
            if self.next() != '\n' {
                self.next();
                return Some(State::Block);
            }
            self.next();
            let after = self.next();
            if after == '\n' || after == EOF {
                self.backup();
                self.backup();
                self.emit(ItemType::String);
                self.next();
                self.ignore();
                return self.pop();
            }
            self.backup();
        } else if r == EOF {
            return self.errorf("Unexpected EOF processing block.".to_string());
        }
        Some(State::Block)
    }

    fn lex_string_escape(&mut self) -> Next {
        let r = self.next();
        match r {
            'x' => Some(State::StringBinary),
            't' => self.add_string_part(b"\t"),
            'n' => self.add_string_part(b"\n"),
            'r' => self.add_string_part(b"\r"),
            '"' => self.add_string_part(b"\""),
            '\\' => self.add_string_part(b"\\"),
            _ => self.errorf(format!(
                "Invalid escape character '{}'. Only the following escape characters are allowed: \\xXX, \\t, \\n, \\r, \\\", \\\\.",
                esc(r)
            )),
        }
    }

    fn lex_string_binary(&mut self) -> Next {
        const EOL: &str = "Expected two hexadecimal digits after '\\x', but hit end of line";
        if is_nl(self.next()) {
            return self.errorf(EOL.to_string());
        }
        if is_nl(self.next()) {
            return self.errorf(EOL.to_string());
        }
        let offset = self.pos.saturating_sub(2);
        let hex = self.slice(offset, self.pos);
        match decode_hex_byte(hex) {
            Some(b) => {
                self.add_string_part(&[b]);
                Some(self.string_state)
            }
            None => {
                let mut msg = b"Expected two hexadecimal digits after '\\x', but got '".to_vec();
                msg.extend_from_slice(hex);
                msg.push(b'\'');
                self.errorf_bytes(msg)
            }
        }
    }

    fn lex_number_or_date_start(&mut self) -> Next {
        let r = self.next();
        if !is_digit(r) {
            if r == '.' {
                return self.errorf("Floats must start with a digit, not '.'.".to_string());
            }
            return self.errorf(format!("Expected a digit but got '{}'.", esc(r)));
        }
        Some(State::NumberOrDateOrStringOrIp)
    }

    fn lex_number_or_date(&mut self) -> Next {
        let r = self.next();
        if r == '-' {
            if self.pos.checked_sub(self.start) != Some(5) {
                return self.errorf("All ISO8601 dates must be in full Zulu form.".to_string());
            }
            return Some(State::DateAfterYear);
        }
        if is_digit(r) {
            return Some(State::NumberOrDateOrStringOrIp);
        }
        if r == '.' {
            return Some(State::FloatStart);
        }
        if is_number_suffix(r) {
            return Some(State::ConvenientNumber);
        }
        if !(is_nl(r)
            || r == EOF
            || r == MAP_END
            || r == OPT_VAL_TERM
            || r == MAP_VAL_TERM
            || is_whitespace(r))
        {
            // Not a number after all: a bare string that starts with digits.
            self.string_state = State::String;
            return Some(State::String);
        }
        self.backup();
        self.emit(ItemType::Integer);
        self.pop()
    }

    fn lex_convenient_number(&mut self) -> Next {
        let r = self.next();
        if matches!(r, 'b' | 'B' | 'i' | 'I') {
            return Some(State::ConvenientNumber);
        }
        self.backup();
        if is_nl(r)
            || r == EOF
            || r == MAP_END
            || r == OPT_VAL_TERM
            || r == MAP_VAL_TERM
            || is_whitespace(r)
            || is_digit(r)
        {
            self.emit(ItemType::Integer);
            return self.pop();
        }
        self.string_state = State::String;
        Some(State::String)
    }

    fn lex_date_after_year(&mut self) -> Next {
        // '0' stands for any digit; anything else must match exactly.
        const FORMAT: [char; 15] = [
            '0', '0', '-', '0', '0', 'T', '0', '0', ':', '0', '0', ':', '0', '0', 'Z',
        ];
        for f in FORMAT {
            let r = self.next();
            if f == '0' {
                if !is_digit(r) {
                    return self.errorf(format!(
                        "Expected digit in ISO8601 datetime, but found '{}' instead.",
                        esc(r)
                    ));
                }
            } else if f != r {
                return self.errorf(format!(
                    "Expected '{}' in ISO8601 datetime, but found '{}' instead.",
                    esc(f),
                    esc(r)
                ));
            }
        }
        self.emit(ItemType::Datetime);
        self.pop()
    }

    fn lex_neg_number_start(&mut self) -> Next {
        let r = self.next();
        if !is_digit(r) {
            if r == '.' {
                return self.errorf("Floats must start with a digit, not '.'.".to_string());
            }
            return self.errorf(format!("Expected a digit but got '{}'.", esc(r)));
        }
        Some(State::NegNumber)
    }

    fn lex_neg_number(&mut self) -> Next {
        let r = self.next();
        if is_digit(r) {
            return Some(State::NegNumber);
        }
        if r == '.' {
            return Some(State::FloatStart);
        }
        if is_number_suffix(r) {
            return Some(State::ConvenientNumber);
        }
        self.backup();
        self.emit(ItemType::Integer);
        self.pop()
    }

    fn lex_float_start(&mut self) -> Next {
        let r = self.next();
        if !is_digit(r) {
            return self.errorf(format!(
                "Floats must have a digit after the '.', but got '{}' instead.",
                esc(r)
            ));
        }
        Some(State::Float)
    }

    fn lex_float(&mut self) -> Next {
        let r = self.next();
        if is_digit(r) {
            return Some(State::Float);
        }
        // A second '.' means this was an IP address, not a float.
        if r == '.' {
            return Some(State::IpAddr);
        }
        self.backup();
        self.emit(ItemType::Float);
        self.pop()
    }

    fn lex_ip_addr(&mut self) -> Next {
        let r = self.next();
        if is_digit(r) || r == '.' || r == ':' || r == '-' {
            return Some(State::IpAddr);
        }
        self.backup();
        self.emit(ItemType::String);
        self.pop()
    }

    fn lex_comment_start(&mut self) -> Next {
        self.ignore();
        self.emit(ItemType::CommentStart);
        Some(State::Comment)
    }

    fn lex_comment(&mut self) -> Next {
        let r = self.peek();
        if is_nl(r) || r == EOF {
            self.emit(ItemType::Text);
            return self.pop();
        }
        self.next();
        Some(State::Comment)
    }
}

/// Two hex digits to a byte (Go's `hex.DecodeString` on exactly two characters).
fn decode_hex_byte(h: &[u8]) -> Option<u8> {
    if h.len() != 2 {
        return None;
    }
    let hi = (h[0] as char).to_digit(16)?;
    let lo = (h[1] as char).to_digit(16)?;
    Some((hi * 16 + lo) as u8)
}

/// How the reference prints a rune in its messages: a new line as `\n`.
fn esc(r: char) -> String {
    if r == '\n' {
        "\\n".to_string()
    } else {
        r.to_string()
    }
}

fn is_number_suffix(r: char) -> bool {
    matches!(
        r,
        'k' | 'K' | 'm' | 'M' | 'g' | 'G' | 't' | 'T' | 'p' | 'P' | 'e' | 'E'
    )
}

fn is_key_separator(r: char) -> bool {
    r == KEY_SEP_EQUAL || r == KEY_SEP_COLON
}

fn is_whitespace(r: char) -> bool {
    r == '\t' || r == ' '
}

fn is_nl(r: char) -> bool {
    r == '\n' || r == '\r'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(input: &[u8]) -> Vec<(ItemType, String)> {
        let mut lx = Lexer::new(input);
        let mut out = Vec::new();
        loop {
            let it = lx.next_item();
            out.push((it.typ, it.text()));
            if matches!(it.typ, ItemType::Eof | ItemType::Error) {
                return out;
            }
        }
    }

    #[test]
    fn nul_byte_ends_input_like_eof() {
        assert_eq!(
            items(b"a = b\0"),
            [
                (ItemType::Key, "a".into()),
                (ItemType::String, "b".into()),
                (ItemType::Eof, String::new())
            ]
        );
    }

    #[test]
    fn lone_slash_after_a_value_is_white_space() {
        assert_eq!(
            items(b"a = 1 /\nb = 2"),
            [
                (ItemType::Key, "a".into()),
                (ItemType::Integer, "1".into()),
                (ItemType::Key, "b".into()),
                (ItemType::Integer, "2".into()),
                (ItemType::Eof, String::new())
            ]
        );
    }

    #[test]
    fn include_keyword_in_any_case() {
        assert_eq!(
            items("İNCLUDE x.conf".as_bytes())[0],
            (ItemType::Include, "x.conf".into())
        );
        assert_eq!(
            items(b"Include 'x.conf'")[0],
            (ItemType::Include, "x.conf".into())
        );
    }

    #[test]
    fn last_integer_of_an_array_swallows_the_bracket_like_the_reference() {
        // nats-server rejects `a = [1]` and `a = [1, 2]` for this reason.
        assert_eq!(
            items(b"a = [1]"),
            [
                (ItemType::Key, "a".into()),
                (ItemType::ArrayStart, String::new()),
                (ItemType::String, "1]".into()),
                (
                    ItemType::Error,
                    "Expected an array value terminator \",\" or an array terminator \"]\", but got '\0' instead.".into()
                )
            ]
        );
    }
}
