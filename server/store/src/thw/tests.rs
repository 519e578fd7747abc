// Unit tests fail by panicking; unwrapping is how they assert success.
#![allow(clippy::unwrap_used)]

use super::*;

const SEC: i64 = TICK_NANOS;

#[test]
fn re_adding_a_sequence_in_the_same_slot_replaces_it() {
    let mut hw = HashWheel::new();
    hw.add(7, 10 * SEC);
    hw.add(7, 10 * SEC + 5);
    assert_eq!(hw.count(), 1);
    assert_eq!(hw.slot(10).unwrap().1.get(&7), Some(&(10 * SEC + 5)));
}

#[test]
fn expiry_recomputes_the_lowest_and_next_expiration() {
    let mut hw = HashWheel::new();
    hw.add(1, 5 * SEC);
    hw.add(2, 6 * SEC);
    hw.add(3, 6 * SEC + 1);
    assert_eq!(hw.next_expiration(i64::MAX), 5 * SEC);
    assert_eq!(hw.next_expiration(5 * SEC), i64::MAX);
    let mut seen = Vec::new();
    hw.expire_tasks(6 * SEC, |seq, exp| {
        seen.push((seq, exp));
        true
    });
    seen.sort_unstable();
    assert_eq!(seen, vec![(1, 5 * SEC), (2, 6 * SEC)]);
    assert_eq!(hw.count(), 1);
    assert_eq!(hw.next_expiration(i64::MAX), 6 * SEC + 1);
    assert!(hw.slot(5).is_none());
    // Nothing expired yet: the callback is not called.
    hw.expire_tasks(6 * SEC, |_, _| panic!("nothing is due"));
}

#[test]
fn times_before_the_epoch_land_in_a_slot() {
    let mut hw = HashWheel::new();
    hw.add(1, -3 * SEC);
    hw.add(2, i64::MIN);
    assert_eq!(hw.count(), 2);
    hw.remove(1, -3 * SEC).unwrap();
    hw.remove(2, i64::MIN).unwrap();
    assert_eq!(hw.count(), 0);
}

#[test]
fn failed_decode_leaves_the_wheel_alone_and_decode_resets_the_count() {
    let mut src = HashWheel::new();
    src.add(1, SEC);
    src.add(2, 2 * SEC);
    let enc = src.encode(3);

    let mut hw = HashWheel::new();
    hw.add(9, 9 * SEC);
    assert_eq!(
        hw.decode(&enc[..enc.len() - 1]),
        Err(ThwError::UnexpectedEof)
    );
    assert_eq!(hw.count(), 1);
    assert_eq!(hw.decode(&enc), Ok(3));
    assert_eq!(hw.count(), 2);
    assert!(hw.remove(9, 9 * SEC).is_err());
    assert_eq!(hw.next_expiration(i64::MAX), SEC);
}

#[test]
fn a_huge_claimed_count_fails_without_allocating() {
    let mut buf = vec![1u8];
    buf.extend_from_slice(&u64::MAX.to_le_bytes());
    buf.extend_from_slice(&0u64.to_le_bytes());
    assert_eq!(HashWheel::new().decode(&buf), Err(ThwError::UnexpectedEof));
}
