//! Ports of `server/subject_transform_test.go`.

// Ports fail by panicking; unwrapping is how they assert success.
#![allow(clippy::unwrap_used)]

use natsd::subject_transform::{
    index_placeholders, transform_untokenize, SubjectTransform, TransformError, TransformKind,
};
use ported::port;

port!("server/subject_transform_test.go::TestPlaceHolderIndex" => place_holder_index);
fn place_holder_index() {
    #[track_caller]
    fn check(token: &str, kind: TransformKind, indexes: &[i64], int_arg: i32) {
        let p = index_placeholders(token).unwrap_or_else(|e| panic!("Error parsing {token}: {e}"));
        assert_eq!(p.kind, kind, "Error parsing {token}");
        assert_eq!(p.indexes, indexes, "Error parsing {token}");
        assert_eq!(p.int_arg, int_arg, "Error parsing {token}");
    }
    check("$1", TransformKind::Wildcard, &[1], -1);
    check(
        "{{partition(10,1,2,3)}}",
        TransformKind::Partition,
        &[1, 2, 3],
        10,
    );
    check(
        "{{ Partition (10,1,2,3) }}",
        TransformKind::Partition,
        &[1, 2, 3],
        10,
    );
    check("{{wildcard(2)}}", TransformKind::Wildcard, &[2], -1);
    check(
        "{{SplitFromLeft(2,1)}}",
        TransformKind::SplitFromLeft,
        &[2],
        1,
    );
    check(
        "{{SplitFromRight(3,2)}}",
        TransformKind::SplitFromRight,
        &[3],
        2,
    );
    check(
        "{{SliceFromLeft(2,2)}}",
        TransformKind::SliceFromLeft,
        &[2],
        2,
    );
    check("{{Left(3,2)}}", TransformKind::Left, &[3], 2);
    check("{{Right(3,2)}}", TransformKind::Right, &[3], 2);
}

port!("server/subject_transform_test.go::TestSubjectTransformHelpers" => subject_transform_helpers);
fn subject_transform_helpers() {
    let (filter, placeholders) = transform_untokenize("bar");
    assert_eq!(filter, "bar");
    assert!(placeholders.is_empty());

    let (filter, placeholders) = transform_untokenize("foo.$2.$1");
    assert_eq!(filter, "foo.*.*");
    assert_eq!(placeholders, ["$2", "$1"]);

    let (filter, placeholders) = transform_untokenize("foo.{{wildcard(2)}}.{{wildcard(1)}}");
    assert_eq!(filter, "foo.*.*");
    assert_eq!(placeholders, ["{{wildcard(2)}}", "{{wildcard(1)}}"]);

    let tr = SubjectTransform::new_strict("foo.*.*", "bar.$2.{{Wildcard(1)}}")
        .expect("Error getting reversible transform")
        .expect("a transform");
    let subject = "foo.b.a";
    let transformed = tr.transform_subject(subject);
    let reverse = tr.reverse().expect("a reverse transform");
    assert_eq!(
        reverse.transform_subject(&transformed),
        subject,
        "Reversed transform subject not matching"
    );
}

#[track_caller]
fn should_err(src: &str, dest: &str, strict: bool) {
    match SubjectTransform::with_strict(src, dest, strict) {
        Err(TransformError::BadSubject) => {}
        Err(e) if e.is_invalid_mapping_destination() => {}
        other => panic!("Did not get an error for src={src:?} and dest={dest:?}: {other:?}"),
    }
}

#[track_caller]
fn should_be_ok(src: &str, dest: &str, strict: bool) -> Option<SubjectTransform> {
    SubjectTransform::with_strict(src, dest, strict)
        .unwrap_or_else(|e| panic!("Got an error {e} for src={src:?} and dest={dest:?}"))
}

#[track_caller]
fn should_match(src: &str, dest: &str, sample: &str, expected: &[&str]) {
    // Like Go, an empty destination gives no transform and nothing to match.
    if let Some(tr) = should_be_ok(src, dest, false) {
        let s = tr.match_subject(sample).unwrap_or_else(|e| {
            panic!("Got an error {e} when expecting a match for {sample:?} to {expected:?}")
        });
        assert!(
            expected.contains(&s.as_str()),
            "Dest does not match what was expected. Got {s:?}, expected {expected:?}"
        );
    }
}

port!("server/subject_transform_test.go::TestSubjectTransforms" => subject_transforms);
fn subject_transforms() {
    // Both must be valid subjects.
    should_err("foo..", "bar", false);

    // Wildcards in the source need placements on the other side.
    should_err("foo.*", "bar.*", false);
    should_err("foo.*", "bar.$2", false); // bad pwc token identifier
    should_err("foo.*", "bar.$1.>", false); // fwcs have to match
    should_err("foo.>", "bar.baz", false); // fwcs have to match
    should_err("foo.*.*", "bar.$2", true); // must place all pwcs
    should_err("foo.*", "foo.$foo", true); // invalid $ value
    should_err("foo.*", "bar.{{Partition(2,1)}}", true); // only Wildcard in import transforms
    should_err("foo.*", "foo.{{wildcard(2)}}", false); // out of range wildcard index
    should_err("foo.*", "foo.{{unimplemented(1)}}", false); // unknown function
    should_err("foo.*", "foo.{{partition()}}", false); // not enough arguments
    should_err("foo.*", "foo.{{random()}}", false); // not enough arguments
    should_err("foo.*", "foo.{{wildcard(foo)}}", false); // invalid argument
    should_err("foo.*", "foo.{{wildcard()}}", false); // not enough arguments
    should_err("foo.*", "foo.{{wildcard(1,2)}}", false); // too many arguments
    should_err("foo.*", "foo.{{ wildcard5) }}", false); // bad function
    should_err("foo.*", "foo.{{splitLeft(2,2}}", false); // bad function
    should_err("foo", "bla.{{wildcard(1)}}", false); // no wildcard in the source

    let too_big = i64::from(i32::MAX) + 1;
    should_err("foo.*", &format!("foo.{{{{partition({too_big})}}}}"), false);
    should_err("foo.*", &format!("foo.{{{{random({too_big})}}}}"), false);

    should_be_ok("foo.*", "bar.{{Wildcard(1)}}", true);

    should_be_ok("foo.*.*", "bar.$2", false); // not all pwcs need be used
    should_be_ok("foo.*.*", "bar.{{wildcard(1)}}", false);
    should_be_ok("foo.*.*", "bar.{{partition(1)}}", false);
    should_be_ok("foo.*.*", "bar.{{random(5)}}", false);
    should_be_ok("foo", "bar", false);
    should_be_ok("foo.*.bar.*.baz", "req.$2.$1", false);
    should_be_ok("baz.>", "mybaz.>", false);
    should_be_ok("*", "{{splitfromleft(1,1)}}", false);
    should_be_ok("", "prefix.>", false);
    should_be_ok("*.*", "{{partition(10,1,2)}}", false);
    should_be_ok(
        "foo.*.*",
        "foo.{{wildcard(1)}}.{{wildcard(2)}}.{{partition(5,1,2)}}",
        false,
    );

    let max = i32::MAX;
    should_be_ok("foo.*", &format!("foo.{{{{partition({max})}}}}"), false);
    should_be_ok("foo.*", &format!("foo.{{{{random({max})}}}}"), false);
    should_be_ok("foo.bar", &format!("foo.{{{{random({max})}}}}"), false);

    should_match("", "prefix.>", "foo", &["prefix.foo"]);
    should_match("foo", "", "foo", &["foo"]);
    should_match("foo", "bar", "foo", &["bar"]);
    should_match(
        "foo.*.bar.*.baz",
        "req.$2.$1",
        "foo.A.bar.B.baz",
        &["req.B.A"],
    );
    should_match(
        "foo.*.bar.*.baz",
        "req.{{wildcard(2)}}.{{wildcard(1)}}",
        "foo.A.bar.B.baz",
        &["req.B.A"],
    );
    should_match("baz.>", "my.pre.>", "baz.1.2.3", &["my.pre.1.2.3"]);
    should_match("baz.>", "foo.bar.>", "baz.1.2.3", &["foo.bar.1.2.3"]);
    should_match("*", "foo.bar.$1", "foo", &["foo.bar.foo"]);
    should_match("*", "{{splitfromleft(1,3)}}", "12345", &["123.45"]);
    should_match("*", "{{SplitFromRight(1,3)}}", "12345", &["12.345"]);
    should_match(
        "*",
        "{{SliceFromLeft(1,3)}}",
        "1234567890",
        &["123.456.789.0"],
    );
    should_match(
        "*",
        "{{SliceFromRight(1,3)}}",
        "1234567890",
        &["1.234.567.890"],
    );
    should_match("*", "{{split(1,-)}}", "-abc-def--ghi-", &["abc.def.ghi"]);
    should_match("*", "{{split(1,-)}}", "abc-def--ghi-", &["abc.def.ghi"]);
    // Combination, with repeated delimiters and delimiters at both ends.
    should_match(
        "*.*",
        "{{split(2,-)}}.{{splitfromleft(1,2)}}",
        "foo.-abc-def--ghij-",
        &["abc.def.ghij.fo.o"],
    );
    should_match("*", "{{right(1,1)}}", "1234", &["4"]);
    should_match("*", "{{right(1,3)}}", "1234", &["234"]);
    should_match("*", "{{right(1,6)}}", "1234", &["1234"]);
    should_match("*", "{{left(1,1)}}", "1234", &["1"]);
    should_match("*", "{{left(1,3)}}", "1234", &["123"]);
    should_match("*", "{{left(1,6)}}", "1234", &["1234"]);
    should_match("*", "bar.{{partition(0)}}", "baz", &["bar.0"]);
    should_match("*", "bar.{{partition(10, 0)}}", "foo", &["bar.3"]);
    should_match("*.*", "bar.{{partition(10)}}", "foo.bar", &["bar.6"]);
    should_match("*", "bar.{{partition(10)}}", "foo", &["bar.3"]);
    should_match("*", "bar.{{partition(10)}}", "baz", &["bar.0"]);
    should_match("*", "bar.{{partition(10)}}", "qux", &["bar.9"]);
    should_match("*", "bar.{{random(0)}}", "qux", &["bar.0"]);
    for _ in 0..100 {
        should_match(
            "*",
            "bar.{{random(6)}}",
            "qux",
            &["bar.0", "bar.1", "bar.2", "bar.3", "bar.4", "bar.5"],
        );
    }
    should_be_ok("foo.bar", "baz.{{partition(10)}}", false);
    should_match("foo.bar", "baz.{{partition(10)}}", "foo.bar", &["baz.6"]);
    should_match("foo.baz", "qux.{{partition(10)}}", "foo.baz", &["qux.4"]);
    should_match(
        "test.subject",
        "result.{{partition(5)}}",
        "test.subject",
        &["result.0"],
    );
}

port!("server/subject_transform_test.go::TestSubjectTransformDoesntPanicTransformingMissingToken" => subject_transform_doesnt_panic_transforming_missing_token);
fn subject_transform_doesnt_panic_transforming_missing_token() {
    let tr = SubjectTransform::new("foo.*", "one.two.{{wildcard(1)}}")
        .unwrap()
        .expect("a transform");
    let r = std::panic::catch_unwind(|| tr.transform_tokenized_subject(&["foo"]));
    assert_eq!(r.ok().as_deref(), Some("one.two."));
}
