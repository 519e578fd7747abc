//! Priority groups of pull consumers (ADR-42, Go 2.11+): what a pull request names
//! (`group`, `min_pending`, `min_ack_pending`, `id`, `priority`), the checks Go makes
//! when the request arrives, and the pin of a `pinned_client` consumer (which request
//! gets the messages, until when).
//!
//! Which waiting request a message goes to under each policy is in
//! [`super::waiting::WaitQueue::next`]. Times are nanoseconds passed in.

use crate::jetstream::api::types::PriorityPolicy;
use serde::Deserialize;

/// The header naming the pin of a delivery (and of a request that holds it).
pub const PIN_ID_HDR: &str = "Nats-Pin-Id";

/// The priority part of a pull request (Go's `PriorityGroup`, inlined in the JSON of
/// `JSApiConsumerGetNextRequest`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PriorityGroup {
    pub group: String,
    /// Overflow: served only once the consumer has this many messages pending...
    pub min_pending: i64,
    /// ... or this many delivered and not acknowledged.
    pub min_ack_pending: i64,
    /// Pinned client: the pin the client holds.
    pub id: String,
    /// Prioritized: 0 is served first, 9 last.
    pub priority: i64,
}

/// The pin of a `pinned_client` consumer (Go's `currentPinId`, `pinnedTS` and its
/// timer); an empty id is no pin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pin {
    pub id: String,
    pub group: String,
    /// When it was given (ns).
    pub since: i64,
    /// When it goes unless a request holding it comes (ns).
    pub expires: i64,
}

impl Pin {
    pub fn is_set(&self) -> bool {
        !self.id.is_empty()
    }

    /// When the pin runs out, if there is one.
    pub fn deadline(&self) -> Option<i64> {
        self.is_set().then_some(self.expires)
    }
}

/// Why a pull request is refused: its status code and description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub u16, pub &'static str);

/// Go's checks of a pull request's priority part as it arrives (`processNextMsgRequest`):
/// the fields must fit the consumer's policy, the priority be 0..=9, the group be one of
/// the consumer's; a request holding the current pin keeps it `pinned_ttl` longer, one
/// holding another pin is refused (423). `pg` is `None` for a request that was not JSON.
pub fn check_request(
    policy: PriorityPolicy,
    groups: &[String],
    pg: Option<&PriorityGroup>,
    pin: &mut Pin,
    pinned_ttl: i64,
    now: i64,
) -> Result<(), Refusal> {
    let Some(pg) = pg else {
        return Ok(());
    };
    if (pg.min_pending != 0 || pg.min_ack_pending != 0) && policy != PriorityPolicy::Overflow {
        return Err(Refusal(
            400,
            "Bad Request - Not a Overflow Priority consumer",
        ));
    }
    if !pg.id.is_empty() && policy != PriorityPolicy::PinnedClient {
        return Err(Refusal(
            400,
            "Bad Request - Not a Pinned Client Priority consumer",
        ));
    }
    if !(0..=9).contains(&pg.priority) {
        return Err(Refusal(
            400,
            "Bad Request - Priority must be between 0 and 9",
        ));
    }
    if policy == PriorityPolicy::None {
        return Ok(());
    }
    if pg.group.is_empty() {
        return Err(Refusal(400, "Bad Request - Priority Group missing"));
    }
    if !groups.contains(&pg.group) {
        return Err(Refusal(400, "Bad Request - Invalid Priority Group"));
    }
    if pin.is_set() {
        if pg.id == pin.id {
            pin.expires = now.saturating_add(pinned_ttl);
        } else if !pg.id.is_empty() {
            return Err(Refusal(423, "Nats-Pin-Id mismatch"));
        }
    }
    Ok(())
}

/// The status a request holding a pin that is not (or no longer) the consumer's gets.
pub fn wrong_pin_status(batch: i64, max_bytes: i64) -> String {
    format!(
        "NATS/1.0 423 Nats-Wrong-Pin-Id\r\n{}: {batch}\r\n{}: {max_bytes}\r\n\r\n",
        super::waiting::PENDING_MSGS_HDR,
        super::waiting::PENDING_BYTES_HDR
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: i64 = 1_000_000_000;

    fn groups() -> Vec<String> {
        vec!["A".to_string()]
    }

    fn pg(f: impl FnOnce(&mut PriorityGroup)) -> PriorityGroup {
        let mut p = PriorityGroup {
            group: "A".into(),
            ..Default::default()
        };
        f(&mut p);
        p
    }

    #[test]
    fn fields_must_fit_the_policy() {
        let mut pin = Pin::default();
        let check = |policy, p: &PriorityGroup, pin: &mut Pin| {
            check_request(policy, &groups(), Some(p), pin, 10 * SEC, 0)
        };
        let min = pg(|p| p.min_pending = 10);
        assert_eq!(
            check(PriorityPolicy::PinnedClient, &min, &mut pin),
            Err(Refusal(
                400,
                "Bad Request - Not a Overflow Priority consumer"
            ))
        );
        assert_eq!(check(PriorityPolicy::Overflow, &min, &mut pin), Ok(()));
        let pinned = pg(|p| p.id = "X".into());
        assert_eq!(
            check(PriorityPolicy::Overflow, &pinned, &mut pin),
            Err(Refusal(
                400,
                "Bad Request - Not a Pinned Client Priority consumer"
            ))
        );
        let ten = pg(|p| p.priority = 10);
        assert_eq!(
            check(PriorityPolicy::Prioritized, &ten, &mut pin),
            Err(Refusal(
                400,
                "Bad Request - Priority must be between 0 and 9"
            ))
        );
        // Also on a consumer without priority groups.
        assert_eq!(
            check(PriorityPolicy::None, &pg(|p| p.priority = -5), &mut pin),
            Err(Refusal(
                400,
                "Bad Request - Priority must be between 0 and 9"
            ))
        );
        // A plain (not JSON) request has nothing to check.
        assert_eq!(
            check_request(
                PriorityPolicy::PinnedClient,
                &groups(),
                None,
                &mut pin,
                1,
                0
            ),
            Ok(())
        );
    }

    #[test]
    fn the_group_must_be_named_and_be_the_consumers() {
        let mut pin = Pin::default();
        let policy = PriorityPolicy::PinnedClient;
        let none = pg(|p| p.group.clear());
        assert_eq!(
            check_request(policy, &groups(), Some(&none), &mut pin, 1, 0),
            Err(Refusal(400, "Bad Request - Priority Group missing"))
        );
        let bad = pg(|p| p.group = "Bad".into());
        assert_eq!(
            check_request(policy, &groups(), Some(&bad), &mut pin, 1, 0),
            Err(Refusal(400, "Bad Request - Invalid Priority Group"))
        );
    }

    #[test]
    fn the_pin_holder_keeps_it_and_other_pins_are_refused() {
        let mut pin = Pin {
            id: "P1".into(),
            group: "A".into(),
            since: 0,
            expires: 10 * SEC,
        };
        let policy = PriorityPolicy::PinnedClient;
        let holder = pg(|p| p.id = "P1".into());
        assert_eq!(
            check_request(
                policy,
                &groups(),
                Some(&holder),
                &mut pin,
                10 * SEC,
                5 * SEC
            ),
            Ok(())
        );
        assert_eq!(pin.deadline(), Some(15 * SEC));
        let wrong = pg(|p| p.id = "WRONG".into());
        assert_eq!(
            check_request(policy, &groups(), Some(&wrong), &mut pin, 10 * SEC, 6 * SEC),
            Err(Refusal(423, "Nats-Pin-Id mismatch"))
        );
        // Without a pin, a request naming one is accepted here (it is told later).
        let mut unpinned = Pin::default();
        assert_eq!(
            check_request(policy, &groups(), Some(&wrong), &mut unpinned, 1, 0),
            Ok(())
        );
        assert_eq!(unpinned.deadline(), None);
    }
}
