//! Ports of nats-server `conf/lex_test.go`: the lexer's items, values and positions.

use natsd::config::conf::lex::{Item, ItemType, ItemType as T, Lexer};
use ported::port;

fn it(typ: ItemType, val: &[u8], line: usize, pos: i64) -> Item {
    Item {
        typ,
        val: val.to_vec(),
        line,
        pos,
    }
}

/// Go's `expect`: the lexer's items must equal `items` one by one until the lexer ends
/// (an EOF item stops the comparison; an error item is compared, then stops it).
/// Stronger than Go's: the lexer may not end early, only where `items` has nothing left
/// but the end (an EOF, or the `}` key some JSON cases list before it).
fn expect(input: &[u8], items: &[Item]) {
    let mut lx = Lexer::new(input);
    for (i, want) in items.iter().enumerate() {
        let got = lx.next_item();
        let _ = got.to_string();
        if got.typ == ItemType::Eof {
            let rest = &items[i..];
            assert!(
                rest.iter()
                    .all(|w| w.typ == ItemType::Eof || (w.typ == ItemType::Key && w.val == b"}")),
                "Testing: {:?}\nlexer ended early; still expected {rest:?}",
                String::from_utf8_lossy(input)
            );
            break;
        }
        assert_eq!(
            &got,
            want,
            "Testing: {:?}\nExpected {want}, received {got}",
            String::from_utf8_lossy(input)
        );
        if got.typ == ItemType::Error {
            break;
        }
    }
}

const BLOCK_EXAMPLE: &str = r#"
numbers (
1234567890
)
"#;

port!("conf/lex_test.go::TestPlainValue" => plain_value);
fn plain_value() {
    let expected = [it(T::Key, b"foo", 1, 0), it(T::Eof, b"", 1, 0)];
    expect(b"foo", &expected);
}

port!("conf/lex_test.go::TestSimpleKeyStringValues" => simple_key_string_values);
fn simple_key_string_values() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::String, b"bar", 1, 7),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = \"bar\"", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::String, b"bar", 1, 7),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = 'bar'", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::String, b"bar", 1, 5),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo='bar'", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::String, b"bar", 1, 5),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo='bar'\r\n", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::String, b"bar", 1, 6),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo=\t'bar'\t", &expected);
}

port!("conf/lex_test.go::TestComplexStringValues" => complex_string_values);
fn complex_string_values() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::String, b"bar\\r\\n  \\t", 1, 7),
        it(T::Eof, b"", 2, 0),
    ];
    expect(b"foo = 'bar\\r\\n  \\t'", &expected);
}

port!("conf/lex_test.go::TestStringStartingWithNumber" => string_starting_with_number);
fn string_starting_with_number() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::String, b"3xyz", 1, 6),
        it(T::Eof, b"", 2, 0),
    ];
    expect(b"foo = 3xyz", &expected);
    expect(b"foo = 3xyz,", &expected);
    expect(b"foo = 3xyz;", &expected);
    let expected = [
        it(T::Key, b"foo", 2, 9),
        it(T::String, b"3xyz", 2, 15),
        it(T::Eof, b"", 2, 0),
    ];
    expect(
        r#"
        foo = 3xyz
        "#
        .as_bytes(),
        &expected,
    );
    let expected = [
        it(T::Key, b"map", 2, 9),
        it(T::MapStart, b"", 2, 14),
        it(T::Key, b"foo", 3, 11),
        it(T::String, b"3xyz", 3, 17),
        it(T::MapEnd, b"", 3, 22),
        it(T::Eof, b"", 2, 0),
    ];
    expect(
        r#"
        map {
          foo = 3xyz}
        "#
        .as_bytes(),
        &expected,
    );
    let expected = [
        it(T::Key, b"map", 2, 9),
        it(T::MapStart, b"", 2, 14),
        it(T::Key, b"foo", 3, 11),
        it(T::String, b"3xyz", 3, 17),
        it(T::MapEnd, b"", 4, 10),
        it(T::Eof, b"", 2, 0),
    ];
    expect(
        r#"
        map {
          foo = 3xyz;
        }
        "#
        .as_bytes(),
        &expected,
    );
    let expected = [
        it(T::Key, b"map", 2, 9),
        it(T::MapStart, b"", 2, 14),
        it(T::Key, b"foo", 3, 11),
        it(T::String, b"3xyz", 3, 17),
        it(T::Key, b"bar", 4, 11),
        it(T::String, b"4wqs", 4, 17),
        it(T::MapEnd, b"", 5, 10),
        it(T::Eof, b"", 2, 0),
    ];
    expect(
        r#"
        map {
          foo = 3xyz,
          bar = 4wqs
        }
        "#
        .as_bytes(),
        &expected,
    );
}

port!("conf/lex_test.go::TestBinaryString" => binary_string);
fn binary_string() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::String, b"e", 1, 9),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = \\x65", &expected);
}

port!("conf/lex_test.go::TestBinaryStringLatin1" => binary_string_latin1);
fn binary_string_latin1() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::String, b"\xe9", 1, 9),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = \\xe9", &expected);
}

port!("conf/lex_test.go::TestSimpleKeyIntegerValues" => simple_key_integer_values);
fn simple_key_integer_values() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Integer, b"123", 1, 6),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = 123", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Integer, b"123", 1, 4),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo=123", &expected);
    expect(b"foo=123\r\n", &expected);
}

port!("conf/lex_test.go::TestSimpleKeyNegativeIntegerValues" => simple_key_negative_integer_values);
fn simple_key_negative_integer_values() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Integer, b"-123", 1, 6),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = -123", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Integer, b"-123", 1, 4),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo=-123", &expected);
    expect(b"foo=-123\r\n", &expected);
}

port!("conf/lex_test.go::TestConvenientIntegerValues" => convenient_integer_values);
fn convenient_integer_values() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Integer, b"1k", 1, 6),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = 1k", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Integer, b"1K", 1, 6),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = 1K", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Integer, b"1m", 1, 6),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = 1m", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Integer, b"1M", 1, 6),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = 1M", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Integer, b"1g", 1, 6),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = 1g", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Integer, b"1G", 1, 6),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = 1G", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Integer, b"1MB", 1, 6),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = 1MB", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Integer, b"1Gb", 1, 6),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = 1Gb", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Integer, b"-1m", 1, 6),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = -1m", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Integer, b"-1GB", 1, 6),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = -1GB ", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::String, b"1Ghz", 1, 6),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = 1Ghz", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::String, b"2Pie", 1, 6),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = 2Pie", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::String, b"3Mbs", 1, 6),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = 3Mbs,", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Integer, b"4Gb", 1, 6),
        it(T::Key, b"bar", 1, 11),
        it(T::String, "5Gø".as_bytes(), 1, 17),
        it(T::Eof, b"", 1, 0),
    ];
    expect("foo = 4Gb, bar = 5Gø".as_bytes(), &expected);
}

port!("conf/lex_test.go::TestSimpleKeyFloatValues" => simple_key_float_values);
fn simple_key_float_values() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Float, b"22.2", 1, 6),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = 22.2", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Float, b"22.2", 1, 4),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo=22.2", &expected);
    expect(b"foo=22.2\r\n", &expected);
}

port!("conf/lex_test.go::TestBadBinaryStringEndingAfterZeroHexChars" => bad_binary_string_ending_after_zero_hex_chars);
fn bad_binary_string_ending_after_zero_hex_chars() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(
            T::Error,
            b"Expected two hexadecimal digits after '\\x', but hit end of line",
            2,
            1,
        ),
        it(T::Eof, b"", 1, 0),
    ];
    expect(
        r#"foo = xyz\x
"#
        .as_bytes(),
        &expected,
    );
}

port!("conf/lex_test.go::TestBadBinaryStringEndingAfterOneHexChar" => bad_binary_string_ending_after_one_hex_char);
fn bad_binary_string_ending_after_one_hex_char() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(
            T::Error,
            b"Expected two hexadecimal digits after '\\x', but hit end of line",
            2,
            1,
        ),
        it(T::Eof, b"", 1, 0),
    ];
    expect(
        r#"foo = xyz\xF
"#
        .as_bytes(),
        &expected,
    );
}

port!("conf/lex_test.go::TestBadBinaryStringWithZeroHexChars" => bad_binary_string_with_zero_hex_chars);
fn bad_binary_string_with_zero_hex_chars() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(
            T::Error,
            b"Expected two hexadecimal digits after '\\x', but got ']\"'",
            1,
            12,
        ),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = \"[\\x]\"", &expected);
}

port!("conf/lex_test.go::TestBadBinaryStringWithOneHexChar" => bad_binary_string_with_one_hex_char);
fn bad_binary_string_with_one_hex_char() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(
            T::Error,
            b"Expected two hexadecimal digits after '\\x', but got 'e]'",
            1,
            12,
        ),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = \"[\\xe]\"", &expected);
}

port!("conf/lex_test.go::TestBadFloatValues" => bad_float_values);
fn bad_float_values() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Error, b"Floats must start with a digit", 1, 7),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = .2", &expected);
}

port!("conf/lex_test.go::TestBadKey" => bad_key);
fn bad_key() {
    let expected = [
        it(T::Error, b"Unexpected key separator ':'", 1, 1),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b" :foo = 22", &expected);
}

port!("conf/lex_test.go::TestSimpleKeyBoolValues" => simple_key_bool_values);
fn simple_key_bool_values() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Bool, b"true", 1, 6),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = true", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Bool, b"true", 1, 4),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo=true", &expected);
    expect(b"foo=true\r\n", &expected);
}

port!("conf/lex_test.go::TestComments" => comments);
fn comments() {
    let expected = [
        it(T::CommentStart, b"", 1, 1),
        it(T::Text, b" This is a comment", 1, 1),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"# This is a comment", &expected);
    expect(b"# This is a comment\r\n", &expected);
    let expected = [
        it(T::CommentStart, b"", 1, 2),
        it(T::Text, b" This is a comment", 1, 2),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"// This is a comment\r\n", &expected);
}

port!("conf/lex_test.go::TestTopValuesWithComments" => top_values_with_comments);
fn top_values_with_comments() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Integer, b"123", 1, 6),
        it(T::CommentStart, b"", 1, 12),
        it(T::Text, b" This is a comment", 1, 12),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = 123 // This is a comment", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Integer, b"123", 1, 4),
        it(T::CommentStart, b"", 1, 12),
        it(T::Text, b" This is a comment", 1, 12),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo=123    # This is a comment", &expected);
}

port!("conf/lex_test.go::TestRawString" => raw_string);
fn raw_string() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::String, b"bar", 1, 6),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = bar", &expected);
    expect(b"foo = bar' ", &expected);
}

port!("conf/lex_test.go::TestDateValues" => date_values);
fn date_values() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Datetime, b"2016-05-04T18:53:41Z", 1, 6),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = 2016-05-04T18:53:41Z", &expected);
}

port!("conf/lex_test.go::TestVariableValues" => variable_values);
fn variable_values() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Variable, b"bar", 1, 7),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = $bar", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Variable, b"bar", 1, 6),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo =$bar", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Variable, b"bar", 1, 5),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo $bar", &expected);
}

port!("conf/lex_test.go::TestArrays" => arrays);
fn arrays() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::ArrayStart, b"", 1, 7),
        it(T::Integer, b"1", 1, 7),
        it(T::Integer, b"2", 1, 10),
        it(T::Integer, b"3", 1, 13),
        it(T::String, b"bar", 1, 17),
        it(T::ArrayEnd, b"", 1, 22),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = [1, 2, 3, 'bar']", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::ArrayStart, b"", 1, 7),
        it(T::Integer, b"1", 1, 7),
        it(T::Integer, b"2", 1, 9),
        it(T::Integer, b"3", 1, 11),
        it(T::String, b"bar", 1, 14),
        it(T::ArrayEnd, b"", 1, 19),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = [1,2,3,'bar']", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::ArrayStart, b"", 1, 7),
        it(T::Integer, b"1", 1, 7),
        it(T::Integer, b"2", 1, 10),
        it(T::Integer, b"3", 1, 12),
        it(T::String, b"bar", 1, 15),
        it(T::ArrayEnd, b"", 1, 20),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = [1, 2,3,'bar']", &expected);
}

port!("conf/lex_test.go::TestMultilineArrays" => multiline_arrays);
fn multiline_arrays() {
    let expected = [
        it(T::CommentStart, b"", 2, 2),
        it(T::Text, b" top level comment", 2, 2),
        it(T::Key, b"foo", 3, 1),
        it(T::ArrayStart, b"", 3, 8),
        it(T::Integer, b"1", 4, 2),
        it(T::CommentStart, b"", 4, 6),
        it(T::Text, b" One", 4, 6),
        it(T::Integer, b"2", 5, 2),
        it(T::CommentStart, b"", 5, 7),
        it(T::Text, b" Two", 5, 7),
        it(T::Integer, b"3", 6, 2),
        it(T::CommentStart, b"", 6, 5),
        it(T::Text, b" Three", 6, 5),
        it(T::String, b"bar", 7, 3),
        it(T::String, b"bar", 8, 3),
        it(T::ArrayEnd, b"", 9, 2),
        it(T::Eof, b"", 9, 0),
    ];
    expect(
        r#"
# top level comment
foo = [
 1, # One
 2, // Two
 3 # Three
 'bar'     ,
 "bar"
]
"#
        .as_bytes(),
        &expected,
    );
}

port!("conf/lex_test.go::TestMultilineArraysNoSep" => multiline_arrays_no_sep);
fn multiline_arrays_no_sep() {
    let expected = [
        it(T::CommentStart, b"", 2, 2),
        it(T::Text, b" top level comment", 2, 2),
        it(T::Key, b"foo", 3, 1),
        it(T::ArrayStart, b"", 3, 8),
        it(T::Integer, b"1", 4, 2),
        it(T::CommentStart, b"", 4, 6),
        it(T::Text, b" foo", 4, 6),
        it(T::Integer, b"2", 5, 2),
        it(T::Integer, b"3", 6, 2),
        it(T::String, b"bar", 7, 3),
        it(T::String, b"bar", 8, 3),
        it(T::ArrayEnd, b"", 9, 2),
        it(T::Eof, b"", 9, 0),
    ];
    expect(
        r#"
# top level comment
foo = [
 1 // foo
 2
 3
 'bar'
 "bar"
]
"#
        .as_bytes(),
        &expected,
    );
}

port!("conf/lex_test.go::TestSimpleMap" => simple_map);
fn simple_map() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::MapStart, b"", 1, 7),
        it(T::Key, b"ip", 1, 7),
        it(T::String, b"127.0.0.1", 1, 11),
        it(T::Key, b"port", 1, 23),
        it(T::Integer, b"4242", 1, 30),
        it(T::MapEnd, b"", 1, 35),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = {ip='127.0.0.1', port = 4242}", &expected);
}

port!("conf/lex_test.go::TestMultilineMap" => multiline_map);
fn multiline_map() {
    let expected = [
        it(T::Key, b"foo", 2, 1),
        it(T::MapStart, b"", 2, 8),
        it(T::Key, b"ip", 3, 3),
        it(T::String, b"127.0.0.1", 3, 9),
        it(T::CommentStart, b"", 3, 21),
        it(T::Text, b" the IP", 3, 21),
        it(T::Key, b"port", 4, 3),
        it(T::Integer, b"4242", 4, 9),
        it(T::CommentStart, b"", 4, 16),
        it(T::Text, b" the port", 4, 16),
        it(T::MapEnd, b"", 5, 2),
        it(T::Eof, b"", 5, 0),
    ];
    expect(
        r#"
foo = {
  ip = '127.0.0.1' # the IP
  port= 4242 // the port
}
"#
        .as_bytes(),
        &expected,
    );
}

port!("conf/lex_test.go::TestNestedMaps" => nested_maps);
fn nested_maps() {
    let expected = [
        it(T::Key, b"foo", 2, 1),
        it(T::MapStart, b"", 2, 8),
        it(T::Key, b"host", 3, 3),
        it(T::MapStart, b"", 3, 11),
        it(T::Key, b"ip", 4, 5),
        it(T::String, b"127.0.0.1", 4, 11),
        it(T::Key, b"port", 5, 5),
        it(T::Integer, b"4242", 5, 11),
        it(T::MapEnd, b"", 6, 4),
        it(T::MapEnd, b"", 7, 2),
        it(T::Eof, b"", 7, 0),
    ];
    expect(
        r#"
foo = {
  host = {
    ip = '127.0.0.1'
    port= 4242
  }
}
"#
        .as_bytes(),
        &expected,
    );
}

port!("conf/lex_test.go::TestQuotedKeys" => quoted_keys);
fn quoted_keys() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Integer, b"123", 1, 6),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo : 123", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 1),
        it(T::Integer, b"123", 1, 8),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"'foo' : 123", &expected);
    expect(b"\"foo\" : 123", &expected);
}

port!("conf/lex_test.go::TestQuotedKeysWithSpace" => quoted_keys_with_space);
fn quoted_keys_with_space() {
    let expected = [
        it(T::Key, b" foo", 1, 1),
        it(T::Integer, b"123", 1, 9),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"' foo' : 123", &expected);
    let expected = [
        it(T::Key, b" foo", 1, 1),
        it(T::Integer, b"123", 1, 9),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"\" foo\" : 123", &expected);
}

port!("conf/lex_test.go::TestColonKeySep" => colon_key_sep);
fn colon_key_sep() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Integer, b"123", 1, 6),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo : 123", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Integer, b"123", 1, 4),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo:123", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Integer, b"123", 1, 5),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo: 123", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Integer, b"123", 1, 6),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo:  123\r\n", &expected);
}

port!("conf/lex_test.go::TestWhitespaceKeySep" => whitespace_key_sep);
fn whitespace_key_sep() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Integer, b"123", 1, 4),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo 123", &expected);
    expect(b"foo 123", &expected);
    expect(b"foo\t123", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Integer, b"123", 1, 5),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo\t\t123\r\n", &expected);
}

port!("conf/lex_test.go::TestEscapedString" => escaped_string);
fn escaped_string() {
    let expected = [
        it(T::Key, b"foo", 2, 1),
        it(T::String, b"\t", 2, 9),
        it(T::Key, b"bar", 3, 1),
        it(T::String, b"\r", 3, 9),
        it(T::Key, b"baz", 4, 1),
        it(T::String, b"\n", 4, 9),
        it(T::Key, b"q", 5, 1),
        it(T::String, b"\"", 5, 9),
        it(T::Key, b"bs", 6, 1),
        it(T::String, b"\\", 6, 9),
        it(T::Eof, b"", 6, 0),
    ];
    expect(
        r#"
foo  = \t
bar  = \r
baz  = \n
q    = \"
bs   = \\
"#
        .as_bytes(),
        &expected,
    );
}

port!("conf/lex_test.go::TestCompoundStringES" => compound_string_es);
fn compound_string_es() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::String, b"\\end", 1, 8),
        it(T::Eof, b"", 2, 0),
    ];
    expect(b"foo = \"\\\\end\"", &expected);
}

port!("conf/lex_test.go::TestCompoundStringSE" => compound_string_se);
fn compound_string_se() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::String, b"start\\", 1, 8),
        it(T::Eof, b"", 2, 0),
    ];
    expect(b"foo = \"start\\\\\"", &expected);
}

port!("conf/lex_test.go::TestCompoundStringEE" => compound_string_ee);
fn compound_string_ee() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::String, b"Eq", 1, 12),
        it(T::Eof, b"", 2, 0),
    ];
    expect(b"foo = \\x45\\x71", &expected);
}

port!("conf/lex_test.go::TestCompoundStringSEE" => compound_string_see);
fn compound_string_see() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::String, b"startEq", 1, 12),
        it(T::Eof, b"", 2, 0),
    ];
    expect(b"foo = start\\x45\\x71", &expected);
}

port!("conf/lex_test.go::TestCompoundStringSES" => compound_string_ses);
fn compound_string_ses() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::String, b"start|end", 1, 9),
        it(T::Eof, b"", 2, 0),
    ];
    expect(b"foo = start\\x7Cend", &expected);
}

port!("conf/lex_test.go::TestCompoundStringEES" => compound_string_ees);
fn compound_string_ees() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::String, b"<>end", 1, 12),
        it(T::Eof, b"", 2, 0),
    ];
    expect(b"foo = \\x3c\\x3eend", &expected);
}

port!("conf/lex_test.go::TestCompoundStringESE" => compound_string_ese);
fn compound_string_ese() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::String, b"<middle>", 1, 12),
        it(T::Eof, b"", 2, 0),
    ];
    expect(b"foo = \\x3cmiddle\\x3E", &expected);
}

port!("conf/lex_test.go::TestBadStringEscape" => bad_string_escape);
fn bad_string_escape() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::Error, b"Invalid escape character 'y'. Only the following escape characters are allowed: \\xXX, \\t, \\n, \\r, \\\", \\\\.", 1, 8),
        it(T::Eof, b"", 2, 0),
    ];
    expect(b"foo = \\y", &expected);
}

port!("conf/lex_test.go::TestNonBool" => non_bool);
fn non_bool() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::String, b"\\true", 1, 7),
        it(T::Eof, b"", 2, 0),
    ];
    expect(b"foo = \\\\true", &expected);
}

port!("conf/lex_test.go::TestNonVariable" => non_variable);
fn non_variable() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::String, b"\\$var", 1, 7),
        it(T::Eof, b"", 2, 0),
    ];
    expect(b"foo = \\\\$var", &expected);
}

port!("conf/lex_test.go::TestEmptyStringDQ" => empty_string_dq);
fn empty_string_dq() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::String, b"", 1, 7),
        it(T::Eof, b"", 2, 0),
    ];
    expect(b"foo = \"\"", &expected);
}

port!("conf/lex_test.go::TestEmptyStringSQ" => empty_string_sq);
fn empty_string_sq() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::String, b"", 1, 7),
        it(T::Eof, b"", 2, 0),
    ];
    expect(b"foo = ''", &expected);
}

port!("conf/lex_test.go::TestNestedWhitespaceMaps" => nested_whitespace_maps);
fn nested_whitespace_maps() {
    let expected = [
        it(T::Key, b"foo", 2, 1),
        it(T::MapStart, b"", 2, 7),
        it(T::Key, b"host", 3, 3),
        it(T::MapStart, b"", 3, 10),
        it(T::Key, b"ip", 4, 5),
        it(T::String, b"127.0.0.1", 4, 11),
        it(T::Key, b"port", 5, 5),
        it(T::Integer, b"4242", 5, 11),
        it(T::MapEnd, b"", 6, 4),
        it(T::MapEnd, b"", 7, 2),
        it(T::Eof, b"", 7, 0),
    ];
    expect(
        r#"
foo  {
  host  {
    ip = '127.0.0.1'
    port= 4242
  }
}
"#
        .as_bytes(),
        &expected,
    );
}

port!("conf/lex_test.go::TestOptionalSemicolons" => optional_semicolons);
fn optional_semicolons() {
    let expected = [
        it(T::Key, b"foo", 2, 1),
        it(T::Integer, b"123", 2, 7),
        it(T::Key, b"bar", 3, 1),
        it(T::String, b"baz", 3, 8),
        it(T::Key, b"baz", 4, 1),
        it(T::String, b"boo", 4, 8),
        it(T::Key, b"map", 5, 1),
        it(T::MapStart, b"", 5, 6),
        it(T::Key, b"id", 6, 2),
        it(T::Integer, b"1", 6, 7),
        it(T::MapEnd, b"", 7, 2),
        it(T::Eof, b"", 8, 0),
    ];
    expect(
        r#"
foo = 123;
bar = 'baz';
baz = 'boo'
map {
 id = 1;
}
"#
        .as_bytes(),
        &expected,
    );
}

port!("conf/lex_test.go::TestSemicolonChaining" => semicolon_chaining);
fn semicolon_chaining() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::String, b"1", 1, 5),
        it(T::Key, b"bar", 1, 9),
        it(T::Float, b"2.2", 1, 13),
        it(T::Key, b"baz", 1, 18),
        it(T::Bool, b"true", 1, 22),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo='1'; bar=2.2; baz=true;", &expected);
}

port!("conf/lex_test.go::TestNonQuotedStrings" => non_quoted_strings);
fn non_quoted_strings() {
    let expected = [
        it(T::Key, b"foo", 2, 1),
        it(T::Integer, b"123", 2, 7),
        it(T::Key, b"bar", 3, 1),
        it(T::String, b"baz", 3, 7),
        it(T::Key, b"baz", 4, 1),
        it(T::String, b"boo", 4, 5),
        it(T::Key, b"map", 5, 1),
        it(T::MapStart, b"", 5, 6),
        it(T::Key, b"id", 6, 2),
        it(T::String, b"one", 6, 5),
        it(T::Key, b"id2", 7, 2),
        it(T::String, b"onetwo", 7, 8),
        it(T::MapEnd, b"", 8, 2),
        it(T::Key, b"t", 9, 1),
        it(T::Bool, b"true", 9, 3),
        it(T::Key, b"f", 10, 1),
        it(T::Bool, b"false", 10, 3),
        it(T::Key, b"tstr", 11, 1),
        it(T::String, b"true", 11, 7),
        it(T::Key, b"tkey", 12, 1),
        it(T::String, b"two", 12, 8),
        it(T::Key, b"fkey", 13, 1),
        it(T::String, b"five", 13, 8),
        it(T::CommentStart, b"", 13, 14),
        it(T::Text, b" This should be a string", 13, 14),
        it(T::Eof, b"", 14, 0),
    ];
    expect(
        r#"
foo = 123
bar = baz
baz=boo
map {
 id:one
 id2 : onetwo
}
t true
f false
tstr "true"
tkey = two
fkey = five # This should be a string
"#
        .as_bytes(),
        &expected,
    );
}

port!("conf/lex_test.go::TestDanglingQuotedString" => dangling_quoted_string);
fn dangling_quoted_string() {
    let expected = [
        it(T::Key, b"listen", 2, 1),
        it(T::Error, b"Unexpected EOF.", 5, 1),
    ];
    expect(
        r#"
listen: "localhost:4242

http: localhost:8222
"#
        .as_bytes(),
        &expected,
    );
}

port!("conf/lex_test.go::TestKeyDanglingQuotedString" => key_dangling_quoted_string);
fn key_dangling_quoted_string() {
    let expected = [
        it(T::Key, b"foo", 2, 1),
        it(T::String, b"\nlisten: ", 3, 8),
        it(T::Key, b"http", 5, 1),
        it(T::String, b"localhost:8222", 5, 7),
        it(T::Error, b"Unexpected EOF.", 8, 1),
    ];
    expect(
        r#"
foo = "
listen: "

http: localhost:8222

"
"#
        .as_bytes(),
        &expected,
    );
}

port!("conf/lex_test.go::TestDanglingSingleQuotedString" => dangling_single_quoted_string);
fn dangling_single_quoted_string() {
    let expected = [
        it(T::Key, b"listen", 2, 1),
        it(T::Error, b"Unexpected EOF.", 5, 1),
    ];
    expect(
        r#"
listen: 'localhost:4242

http: localhost:8222
"#
        .as_bytes(),
        &expected,
    );
}

port!("conf/lex_test.go::TestKeyDanglingSingleQuotedString" => key_dangling_single_quoted_string);
fn key_dangling_single_quoted_string() {
    let expected = [
        it(T::Key, b"foo", 2, 1),
        it(T::String, b"\nlisten: ", 3, 8),
        it(T::Key, b"http", 5, 1),
        it(T::String, b"localhost:8222", 5, 7),
        it(T::Error, b"Unexpected EOF.", 8, 1),
    ];
    expect(
        r#"
foo = '
listen: '

http: localhost:8222

'
"#
        .as_bytes(),
        &expected,
    );
}

port!("conf/lex_test.go::TestMapDanglingBracket" => map_dangling_bracket);
fn map_dangling_bracket() {
    let expected = [
        it(T::Key, b"listen", 2, 1),
        it(T::Integer, b"4222", 2, 10),
        it(T::Key, b"cluster", 4, 1),
        it(T::MapStart, b"", 4, 12),
        it(T::Key, b"foo", 6, 3),
        it(T::String, b"bar", 6, 9),
        it(T::Error, b"Unexpected EOF processing map.", 8, 1),
    ];
    expect(
        r#"
listen = 4222

cluster = {

  foo = bar

"#
        .as_bytes(),
        &expected,
    );
}

port!("conf/lex_test.go::TestBlockDanglingParens" => block_dangling_parens);
fn block_dangling_parens() {
    let expected = [
        it(T::Key, b"listen", 2, 1),
        it(T::Integer, b"4222", 2, 10),
        it(T::Key, b"quote", 4, 1),
        it(T::Error, b"Unexpected EOF processing block.", 8, 1),
    ];
    expect(
        r#"
listen = 4222

quote = (

  foo = bar

"#
        .as_bytes(),
        &expected,
    );
}

port!("conf/lex_test.go::TestMapQuotedKeys" => map_quoted_keys);
fn map_quoted_keys() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::MapStart, b"", 1, 7),
        it(T::Key, b"bar", 1, 8),
        it(T::Integer, b"4242", 1, 15),
        it(T::MapEnd, b"", 1, 20),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = {'bar' = 4242}", &expected);
    expect(b"foo = {\"bar\" = 4242}", &expected);
}

port!("conf/lex_test.go::TestSpecialCharsMapQuotedKeys" => special_chars_map_quoted_keys);
fn special_chars_map_quoted_keys() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::MapStart, b"", 1, 7),
        it(T::Key, b"bar-1.2.3", 1, 8),
        it(T::MapStart, b"", 1, 22),
        it(T::Key, b"port", 1, 23),
        it(T::Integer, b"4242", 1, 28),
        it(T::MapEnd, b"", 1, 34),
        it(T::MapEnd, b"", 1, 35),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo = {'bar-1.2.3' = { port:4242 }}", &expected);
    expect(b"foo = {\"bar-1.2.3\" = { port:4242 }}", &expected);
}

port!("conf/lex_test.go::TestDoubleNestedMapsNewLines" => double_nested_maps_new_lines);
fn double_nested_maps_new_lines() {
    let expected = [
        it(T::Key, b"systems", 2, 1),
        it(T::MapStart, b"", 2, 10),
        it(T::Key, b"allinone", 3, 3),
        it(T::MapStart, b"", 3, 13),
        it(T::Key, b"description", 4, 5),
        it(T::String, b"This is a description.", 4, 19),
        it(T::MapEnd, b"", 5, 4),
        it(T::MapEnd, b"", 6, 2),
        it(T::Eof, b"", 7, 0),
    ];
    expect(
        r#"
systems {
  allinone {
    description: "This is a description."
  }
}
"#
        .as_bytes(),
        &expected,
    );
}

port!("conf/lex_test.go::TestBlockString" => block_string);
fn block_string() {
    let expected = [
        it(T::Key, b"numbers", 2, 1),
        it(T::String, b"\n1234567890\n", 4, 10),
    ];
    expect(BLOCK_EXAMPLE.as_bytes(), &expected);
}

port!("conf/lex_test.go::TestBlockStringEOF" => block_string_eof);
fn block_string_eof() {
    let expected = [
        it(T::Key, b"numbers", 2, 1),
        it(T::String, b"\n1234567890\n", 4, 10),
    ];
    // The example with its last new line replaced by a NUL byte, which ends the block.
    let mut input = BLOCK_EXAMPLE.as_bytes().to_vec();
    input.pop();
    input.push(0);
    expect(&input, &expected);
}

port!("conf/lex_test.go::TestBlockStringMultiLine" => block_string_multi_line);
fn block_string_multi_line() {
    let expected = [
        it(T::Key, b"numbers", 2, 1),
        it(T::String, b"\n  12(34)56\n  (\n    7890\n  )\n", 7, 10),
    ];
    expect(
        r#"
numbers (
  12(34)56
  (
    7890
  )
)
"#
        .as_bytes(),
        &expected,
    );
}

port!("conf/lex_test.go::TestUnquotedIPAddr" => unquoted_ip_addr);
fn unquoted_ip_addr() {
    let expected = [
        it(T::Key, b"listen", 1, 0),
        it(T::String, b"127.0.0.1:4222", 1, 8),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"listen: 127.0.0.1:4222", &expected);
    let expected = [
        it(T::Key, b"listen", 1, 0),
        it(T::String, b"127.0.0.1", 1, 8),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"listen: 127.0.0.1", &expected);
    let expected = [
        it(T::Key, b"listen", 1, 0),
        it(T::String, b"apcera.me:80", 1, 8),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"listen: apcera.me:80", &expected);
    let expected = [
        it(T::Key, b"listen", 1, 0),
        it(T::String, b"nats.io:-1", 1, 8),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"listen: nats.io:-1", &expected);
    let expected = [
        it(T::Key, b"listen", 1, 0),
        it(T::Integer, b"-1", 1, 8),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"listen: -1", &expected);
    let expected = [
        it(T::Key, b"listen", 1, 0),
        it(T::String, b":-1", 1, 8),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"listen: :-1", &expected);
    let expected = [
        it(T::Key, b"listen", 1, 0),
        it(T::String, b":80", 1, 9),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"listen = :80", &expected);
    let expected = [
        it(T::Key, b"listen", 1, 0),
        it(T::ArrayStart, b"", 1, 10),
        it(T::String, b"localhost:4222", 1, 10),
        it(T::String, b"localhost:4333", 1, 26),
        it(T::ArrayEnd, b"", 1, 41),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"listen = [localhost:4222, localhost:4333]", &expected);
}

port!("conf/lex_test.go::TestArrayOfMaps" => array_of_maps);
fn array_of_maps() {
    let expected = [
        it(T::Key, b"authorization", 2, 1),
        it(T::MapStart, b"", 2, 16),
        it(T::Key, b"users", 3, 5),
        it(T::ArrayStart, b"", 3, 14),
        it(T::MapStart, b"", 4, 8),
        it(T::Key, b"user", 4, 8),
        it(T::String, b"alice", 4, 14),
        it(T::Key, b"password", 4, 21),
        it(T::String, b"foo", 4, 31),
        it(T::MapEnd, b"", 4, 35),
        it(T::MapStart, b"", 5, 8),
        it(T::Key, b"user", 5, 8),
        it(T::String, b"bob", 5, 14),
        it(T::Key, b"password", 5, 21),
        it(T::String, b"bar", 5, 31),
        it(T::MapEnd, b"", 5, 35),
        it(T::ArrayEnd, b"", 6, 6),
        it(T::Key, b"timeout", 7, 5),
        it(T::Float, b"0.5", 7, 14),
        it(T::MapEnd, b"", 8, 2),
        it(T::Eof, b"", 9, 0),
    ];
    expect(
        r#"
authorization {
    users = [
      {user: alice, password: foo}
      {user: bob,   password: bar}
    ]
    timeout: 0.5
}
"#
        .as_bytes(),
        &expected,
    );
}

port!("conf/lex_test.go::TestInclude" => include);
fn include() {
    let expected = [it(T::Include, b"users.conf", 1, 9), it(T::Eof, b"", 1, 0)];
    expect(b"include \"users.conf\"", &expected);
    expect(b"include 'users.conf'", &expected);
    let expected = [it(T::Include, b"users.conf", 1, 8), it(T::Eof, b"", 1, 0)];
    expect(b"include users.conf", &expected);
}

port!("conf/lex_test.go::TestMapInclude" => map_include);
fn map_include() {
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::MapStart, b"", 1, 5),
        it(T::Include, b"users.conf", 1, 14),
        it(T::MapEnd, b"", 1, 26),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo { include users.conf }", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::MapStart, b"", 1, 5),
        it(T::Include, b"users.conf", 1, 13),
        it(T::MapEnd, b"", 1, 24),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo {include users.conf}", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::MapStart, b"", 1, 5),
        it(T::Include, b"users.conf", 1, 15),
        it(T::MapEnd, b"", 1, 28),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo { include 'users.conf' }", &expected);
    let expected = [
        it(T::Key, b"foo", 1, 0),
        it(T::MapStart, b"", 1, 5),
        it(T::Include, b"users.conf", 1, 15),
        it(T::MapEnd, b"", 1, 27),
        it(T::Eof, b"", 1, 0),
    ];
    expect(b"foo { include \"users.conf\"}", &expected);
}

port!("conf/lex_test.go::TestJSONCompat" => json_compat);
fn json_compat() {
    let cases: Vec<(&str, &[u8], Vec<Item>)> = vec![
        (
            "should omit initial and final brackets at top level with a single item",
            r#"
                        {
                          "http_port": 8223
                        }
                        "#.as_bytes(),
            vec![
                it(T::Key, b"http_port", 3, 28),
                it(T::Integer, b"8223", 3, 40),
                it(T::Key, b"}", 4, 25),
                it(T::Eof, b"", 0, 0),
            ],
        ),
        (
            "should omit trailing commas at top level with two items",
            r#"
                        {
                          "http_port": 8223,
                          "port": 4223
                        }
                        "#.as_bytes(),
            vec![
                it(T::Key, b"http_port", 3, 28),
                it(T::Integer, b"8223", 3, 40),
                it(T::Key, b"port", 4, 28),
                it(T::Integer, b"4223", 4, 35),
                it(T::Key, b"}", 5, 25),
                it(T::Eof, b"", 0, 0),
            ],
        ),
        (
            "should omit trailing commas at top level with multiple items",
            r#"
                        {
                          "http_port": 8223,
                          "port": 4223,
                          "max_payload": "5MB",
                          "debug": true,
                          "max_control_line": 1024
                        }
                        "#.as_bytes(),
            vec![
                it(T::Key, b"http_port", 3, 28),
                it(T::Integer, b"8223", 3, 40),
                it(T::Key, b"port", 4, 28),
                it(T::Integer, b"4223", 4, 35),
                it(T::Key, b"max_payload", 5, 28),
                it(T::String, b"5MB", 5, 43),
                it(T::Key, b"debug", 6, 28),
                it(T::Bool, b"true", 6, 36),
                it(T::Key, b"max_control_line", 7, 28),
                it(T::Integer, b"1024", 7, 47),
                it(T::Key, b"}", 8, 25),
                it(T::Eof, b"", 0, 0),
            ],
        ),
        (
            "should support JSON not prettified",
            r#"{"http_port": 8224,"port": 4224}
                        "#.as_bytes(),
            vec![
                it(T::Key, b"http_port", 1, 2),
                it(T::Integer, b"8224", 1, 14),
                it(T::Key, b"port", 1, 20),
                it(T::Integer, b"4224", 1, 27),
                it(T::Eof, b"", 0, 0),
            ],
        ),
        (
            "should support JSON not prettified with final bracket after newline",
            r#"{"http_port": 8225,"port": 4225
                        }
                        "#.as_bytes(),
            vec![
                it(T::Key, b"http_port", 1, 2),
                it(T::Integer, b"8225", 1, 14),
                it(T::Key, b"port", 1, 20),
                it(T::Integer, b"4225", 1, 27),
                it(T::Key, b"}", 2, 25),
                it(T::Eof, b"", 0, 0),
            ],
        ),
        (
            "should support uglified JSON with inner blocks",
            r#"{"http_port": 8227,"port": 4227,"write_deadline": "1h","cluster": {"port": 6222,"routes": ["nats://127.0.0.1:4222","nats://127.0.0.1:4223","nats://127.0.0.1:4224"]}}
                        "#.as_bytes(),
            vec![
                it(T::Key, b"http_port", 1, 2),
                it(T::Integer, b"8227", 1, 14),
                it(T::Key, b"port", 1, 20),
                it(T::Integer, b"4227", 1, 27),
                it(T::Key, b"write_deadline", 1, 33),
                it(T::String, b"1h", 1, 51),
                it(T::Key, b"cluster", 1, 56),
                it(T::MapStart, b"", 1, 67),
                it(T::Key, b"port", 1, 68),
                it(T::Integer, b"6222", 1, 75),
                it(T::Key, b"routes", 1, 81),
                it(T::ArrayStart, b"", 1, 91),
                it(T::String, b"nats://127.0.0.1:4222", 1, 92),
                it(T::String, b"nats://127.0.0.1:4223", 1, 116),
                it(T::String, b"nats://127.0.0.1:4224", 1, 140),
                it(T::ArrayEnd, b"", 1, 163),
                it(T::MapEnd, b"", 1, 164),
                it(T::Key, b"}", 14, 25),
                it(T::Eof, b"", 0, 0),
            ],
        ),
        (
            "should support prettified JSON with inner blocks",
            r#"
                        {
                          "http_port": 8227,
                          "port": 4227,
                          "write_deadline": "1h",
                          "cluster": {
                            "port": 6222,
                            "routes": [
                              "nats://127.0.0.1:4222",
                              "nats://127.0.0.1:4223",
                              "nats://127.0.0.1:4224"
                            ]
                          }
                        }
                        "#.as_bytes(),
            vec![
                it(T::Key, b"http_port", 3, 28),
                it(T::Integer, b"8227", 3, 40),
                it(T::Key, b"port", 4, 28),
                it(T::Integer, b"4227", 4, 35),
                it(T::Key, b"write_deadline", 5, 28),
                it(T::String, b"1h", 5, 46),
                it(T::Key, b"cluster", 6, 28),
                it(T::MapStart, b"", 6, 39),
                it(T::Key, b"port", 7, 30),
                it(T::Integer, b"6222", 7, 37),
                it(T::Key, b"routes", 8, 30),
                it(T::ArrayStart, b"", 8, 40),
                it(T::String, b"nats://127.0.0.1:4222", 9, 32),
                it(T::String, b"nats://127.0.0.1:4223", 10, 32),
                it(T::String, b"nats://127.0.0.1:4224", 11, 32),
                it(T::ArrayEnd, b"", 12, 30),
                it(T::MapEnd, b"", 13, 28),
                it(T::Key, b"}", 14, 25),
                it(T::Eof, b"", 0, 0),
            ],
        ),
        (
            "should support JSON with blocks",
            r#"{
                          "jetstream": {
                            "store_dir": "/tmp/nats"
                            "max_mem": 1000000,
                          },
                          "port": 4222,
                          "server_name": "nats1"
                        }
                        "#.as_bytes(),
            vec![
                it(T::Key, b"jetstream", 2, 28),
                it(T::MapStart, b"", 2, 41),
                it(T::Key, b"store_dir", 3, 30),
                it(T::String, b"/tmp/nats", 3, 43),
                it(T::Key, b"max_mem", 4, 30),
                it(T::Integer, b"1000000", 4, 40),
                it(T::MapEnd, b"", 5, 28),
                it(T::Key, b"port", 6, 28),
                it(T::Integer, b"4222", 6, 35),
                it(T::Key, b"server_name", 7, 28),
                it(T::String, b"nats1", 7, 43),
                it(T::Key, b"}", 8, 25),
                it(T::Eof, b"", 0, 0),
            ],
        ),
    ];
    for (_name, input, expected) in cases {
        expect(input, &expected);
    }
}
