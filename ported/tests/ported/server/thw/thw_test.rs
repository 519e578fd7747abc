//! Ports of `server/thw/thw_test.go`.
//!
//! The wheel never reads a clock: where Go's `ExpireTasks` reads `time.Now()`, the ports
//! read it themselves and pass it in.

// Ports fail by panicking; unwrapping is how they assert success.
#![allow(clippy::unwrap_used)]

use natsd_store::thw::{HashWheel, ThwError, ENCODED_HEADER_LEN, WHEEL_MASK, WHEEL_SIZE};
use ported::port;
use std::collections::HashMap;

const SECOND: i64 = 1_000_000_000;

/// Go's `time.Now().UnixNano()`.
fn now_nanos() -> i64 {
    natsd_store::ats::system_clock()
}

port!("server/thw/thw_test.go::TestHashWheelBasics" => hash_wheel_basics);
fn hash_wheel_basics() {
    let mut hw = HashWheel::new();
    let now = now_nanos();

    // Add a sequence.
    let (seq, expires) = (1u64, now + 5 * SECOND);
    hw.add(seq, expires);
    assert_eq!(hw.count(), 1);

    // Removing a sequence that is not there fails.
    assert_eq!(hw.remove(999, expires), Err(ThwError::TaskNotFound));
    assert_eq!(hw.count(), 1);

    // Removing the one that is works.
    hw.remove(seq, expires).unwrap();
    assert_eq!(hw.count(), 0);

    // And it is gone.
    assert_eq!(hw.remove(seq, expires), Err(ThwError::TaskNotFound));
    assert_eq!(hw.count(), 0);
}

port!("server/thw/thw_test.go::TestHashWheelUpdate" => hash_wheel_update);
fn hash_wheel_update() {
    let mut hw = HashWheel::new();
    let now = now_nanos();
    let old_expires = now + 5 * SECOND;
    let new_expires = now + 10 * SECOND;

    hw.add(1, old_expires);
    assert_eq!(hw.count(), 1);

    hw.update(1, old_expires, new_expires).unwrap();
    assert_eq!(hw.count(), 1);

    // The old expiry is gone.
    assert_eq!(hw.remove(1, old_expires), Err(ThwError::TaskNotFound));
    assert_eq!(hw.count(), 1);

    // The new one is there.
    hw.remove(1, new_expires).unwrap();
    assert_eq!(hw.count(), 0);
}

port!("server/thw/thw_test.go::TestHashWheelExpiration" => hash_wheel_expiration);
fn hash_wheel_expiration() {
    let mut hw = HashWheel::new();
    let now = now_nanos();

    let seqs: HashMap<u64, i64> = HashMap::from([
        (1, now - SECOND),      // Already expired.
        (2, now + SECOND),      // Expires soon.
        (3, now + 10 * SECOND), // Later.
        (4, now + 60 * SECOND), // Much later.
    ]);
    for (&seq, &expires) in &seqs {
        hw.add(seq, expires);
    }
    assert_eq!(hw.count(), seqs.len() as u64);

    let mut expired = HashMap::new();
    hw.expire_tasks(now_nanos(), |seq, _| {
        expired.insert(seq, true);
        true
    });

    // Only sequence 1 expired.
    assert_eq!(expired.len(), 1);
    assert_eq!(expired.get(&1), Some(&true));
    assert_eq!(hw.count(), 3);
}

port!("server/thw/thw_test.go::TestHashWheelManualExpiration" => hash_wheel_manual_expiration);
fn hash_wheel_manual_expiration() {
    let mut hw = HashWheel::new();
    let now = now_nanos();
    for seq in 1..=4u64 {
        hw.add(seq, now);
    }
    assert_eq!(hw.count(), 4);

    // Offered several times, but never removed.
    let mut expired: HashMap<u64, u64> = HashMap::new();
    for i in 0..=1u64 {
        hw.expire_tasks(now_nanos(), |seq, _| {
            *expired.entry(seq).or_default() += 1;
            false
        });
        assert_eq!(expired.len(), 4);
        for seq in 1..=4 {
            assert_eq!(expired[&seq], 1 + i);
        }
        assert_eq!(hw.count(), 4);
    }

    // Only even sequences removed.
    for i in 0..=1u64 {
        hw.expire_tasks(now_nanos(), |seq, _| {
            *expired.entry(seq).or_default() += 1;
            seq % 2 == 0
        });
        assert_eq!(expired[&1], 3 + i);
        assert_eq!(expired[&2], 3);
        assert_eq!(expired[&3], 3 + i);
        assert_eq!(expired[&4], 3);
        assert_eq!(hw.count(), 2);
    }

    // Remove the rest by hand.
    hw.remove(1, now).unwrap();
    hw.remove(3, now).unwrap();
    assert_eq!(hw.count(), 0);
}

port!("server/thw/thw_test.go::TestHashWheelExpirationLargerThanWheel" => hash_wheel_expiration_larger_than_wheel);
fn hash_wheel_expiration_larger_than_wheel() {
    let mut hw = HashWheel::new();

    // Both can expire at once.
    let seqs = HashMap::from([(1u64, 0i64), (2, SECOND)]);
    for (&seq, &expires) in &seqs {
        hw.add(seq, expires);
    }
    assert_eq!(hw.count(), 2);

    // A time a whole turn of the wheel later.
    let now = SECOND * WHEEL_MASK;
    let mut expired = HashMap::new();
    hw.expire_tasks(now, |seq, _| {
        expired.insert(seq, true);
        true
    });
    assert_eq!(expired.len(), 2);
    assert_eq!(hw.count(), 0);
}

port!("server/thw/thw_test.go::TestHashWheelNextExpiration" => hash_wheel_next_expiration);
fn hash_wheel_next_expiration() {
    let mut hw = HashWheel::new();
    let now = now_nanos();

    let seqs = HashMap::from([
        (1u64, now + 5 * SECOND),
        (2, now + 3 * SECOND), // Earliest.
        (3, now + 10 * SECOND),
    ]);
    for (&seq, &expires) in &seqs {
        hw.add(seq, expires);
    }
    assert_eq!(hw.count(), seqs.len() as u64);

    // The earliest, sequence 2, is before the next external tick.
    let next_external_tick = now + 6 * SECOND;
    assert_eq!(hw.next_expiration(next_external_tick), seqs[&2]);

    // Nothing in an empty wheel.
    let empty = HashWheel::new();
    assert_eq!(empty.next_expiration(now + SECOND), i64::MAX);
}

port!("server/thw/thw_test.go::TestHashWheelStress" => hash_wheel_stress);
fn hash_wheel_stress() {
    let mut hw = HashWheel::new();
    let now = now_nanos();
    let num_sequences = 100_000i64;

    for seq in 0..num_sequences {
        hw.add(seq as u64, now + seq * SECOND);
    }

    // Move every other sequence.
    for seq in (0..num_sequences).step_by(2) {
        let old_expires = now + seq * SECOND;
        let new_expires = now + (seq + num_sequences) * SECOND;
        hw.update(seq as u64, old_expires, new_expires).unwrap();
    }

    // Remove the odd ones.
    for seq in (1..num_sequences).step_by(2) {
        hw.remove(seq as u64, now + seq * SECOND).unwrap();
    }
}

port!("server/thw/thw_test.go::TestHashWheelEncodeDecode" => hash_wheel_encode_decode);
fn hash_wheel_encode_decode() {
    let mut hw = HashWheel::new();
    let now = now_nanos();
    let num_sequences = 100_000i64;
    for seq in 0..num_sequences {
        hw.add(seq as u64, now + seq * SECOND);
    }

    let b = hw.encode(12345);
    assert!(b.len() > ENCODED_HEADER_LEN); // More than the header.

    let mut nhw = HashWheel::new();
    let stamp = nhw.decode(&b).unwrap();
    assert_eq!(stamp, 12345);
    assert_eq!(hw.next_expiration(i64::MAX), nhw.next_expiration(i64::MAX));

    // Slot by slot: same lowest expiry and the same entries.
    for pos in 0..WHEEL_SIZE {
        let (lowest, entries) = hw.slot(pos).unwrap();
        let (nlowest, nentries) = nhw.slot(pos).unwrap();
        assert_eq!(lowest, nlowest);
        assert_eq!(entries.len(), nentries.len());
        for (v, ts) in entries {
            assert_eq!(nentries.get(v), Some(ts));
        }
    }
}

port!("server/thw/thw_test.go::TestHashWheelDecodeRejectsMalformed" => hash_wheel_decode_rejects_malformed);
fn hash_wheel_decode_rejects_malformed() {
    // A valid header claiming `count` entries.
    let header = |count: u64| {
        let mut b = vec![0u8; ENCODED_HEADER_LEN];
        b[0] = 1; // Version.
        b[1..9].copy_from_slice(&count.to_le_bytes());
        b[9..17].copy_from_slice(&0u64.to_le_bytes()); // High sequence stamp.
        b
    };
    // Go's binary.AppendVarint(nil, 12345).
    let varint_12345 = [0xf2u8, 0xc0, 0x01];

    let cases: Vec<(&str, Vec<u8>, ThwError)> = vec![
        (
            "ShortHeader",
            vec![0u8; ENCODED_HEADER_LEN - 1],
            ThwError::ShortBuffer,
        ),
        (
            "BadVersion",
            {
                let mut b = header(0);
                b[0] = 2;
                b
            },
            ThwError::InvalidVersion,
        ),
        // One entry claimed, none present.
        ("TruncatedAtVarints", header(1), ThwError::UnexpectedEof),
        // The expiry is there, the sequence is not.
        (
            "TruncatedSeq",
            [header(1), varint_12345.to_vec()].concat(),
            ThwError::UnexpectedEof,
        ),
    ];
    for (title, buf, err) in cases {
        let mut hw = HashWheel::new();
        assert_eq!(hw.decode(&buf), Err(err), "{title}");
    }
}
