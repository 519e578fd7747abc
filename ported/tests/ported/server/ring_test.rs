//! Ports of `server/ring_test.go`: the ring of closed connections kept for `/connz`.

use natsd::ring::ClosedRingBuffer;
use ported::port;

/// Go's `closedClient` as far as these tests look at it: the user name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct ClosedClient {
    user: String,
}

port!("server/ring_test.go::TestRBAppendAndLenAndTotal" => rb_append_and_len_and_total);
fn rb_append_and_len_and_total() {
    let mut rb = ClosedRingBuffer::new(10);
    for _ in 0..5 {
        rb.append(ClosedClient::default());
    }
    assert_eq!(rb.len(), 5, "Expected len of 5, got {}", rb.len());
    assert_eq!(
        rb.total_conns(),
        5,
        "Expected total of 5, got {}",
        rb.total_conns()
    );
    for _ in 0..25 {
        rb.append(ClosedClient::default());
    }
    assert_eq!(rb.len(), 10, "Expected len of 10, got {}", rb.len());
    assert_eq!(
        rb.total_conns(),
        30,
        "Expected total of 30, got {}",
        rb.total_conns()
    );
}

port!("server/ring_test.go::TestRBclosedClients" => rb_closed_clients);
fn rb_closed_clients() {
    let mut rb = ClosedRingBuffer::new(10);
    let max = 100;
    let master: Vec<ClosedClient> = (1..=max)
        .map(|i| ClosedClient {
            user: i.to_string(),
        })
        .collect();

    for (ui, i) in (1..=max).zip(0..) {
        rb.append(ClosedClient {
            user: ui.to_string(),
        });
        let ccs = rb.closed_clients();
        let start = rb.total_conns() as usize - ccs.len();
        let ms = &master[start..start + ccs.len()];
        assert_eq!(
            ccs, ms,
            "test {i}: List result did not match master: {ccs:?} vs {ms:?}"
        );
    }
}
