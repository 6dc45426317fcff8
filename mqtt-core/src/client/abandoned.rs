//! [`Abandoned`]: the subscriptions whose handle the application dropped without unsubscribing. The broker still
//! holds them and goes on sending what they match, which nobody may ever read: those messages are acknowledged at
//! once, and let go when the bounded wait for a late consumer is full rather than pausing the client.

use std::collections::HashMap;
use std::string::String;
use std::vec::Vec;

use crate::codec::{List, SubscriptionId};
use crate::topic;

/// Whether a message on `topic` carrying the 5.0 Subscription Identifiers `ids` is for the subscription request
/// with `filters` and identifier `id` (`requests`: identifier to filters, for every request the broker may still
/// hold).
///
/// The identifiers say which of the broker's subscriptions matched, and each names the request that made it. The
/// broker keeps one subscription per filter, each with the identifier of the latest request for it
/// `[MQTT-3.8.4-3]`: a message may carry the identifier of an earlier or a later request for one of these filters
/// (sent before the broker took this request, or after a later one replaced it), and it is for this request all
/// the same. Without identifiers, or with none this client knows (a request long gone), the filters decide.
pub(crate) fn is_for(
    filters: &[String],
    id: Option<u32>,
    topic: &str,
    ids: &List<'_, SubscriptionId>,
    requests: &HashMap<u32, Vec<String>>,
) -> bool {
    let known = || ids.iter().filter_map(|id| requests.get(&id.get()));
    if id.is_none() || known().next().is_none() {
        return filters.iter().any(|f| topic::matches(f, topic));
    }
    known()
        .flatten()
        .any(|f| topic::matches(f, topic) && filters.contains(f))
}

/// The filters (and 5.0 Subscription Identifier) of each subscription request whose handle is gone while the
/// broker still holds its subscriptions: until they are unsubscribed, or subscribed again by a new request.
#[derive(Debug, Default)]
pub(crate) struct Abandoned {
    requests: Vec<(Vec<String>, Option<u32>)>,
}

impl Abandoned {
    /// A request's handle is gone; the broker keeps `filters`.
    pub(crate) fn add(&mut self, filters: Vec<String>, id: Option<u32>) {
        if !filters.is_empty() {
            self.requests.push((filters, id));
        }
    }

    /// `filters` were unsubscribed, or subscribed again by a live request (which replaces them at the broker).
    pub(crate) fn forget(&mut self, filters: &[String]) {
        for (kept, _) in &mut self.requests {
            kept.retain(|f| !filters.contains(f));
        }
        self.requests.retain(|(kept, _)| !kept.is_empty());
    }

    /// Whether an abandoned request has the Subscription Identifier `id`.
    pub(crate) fn uses_id(&self, id: u32) -> bool {
        self.requests.iter().any(|(_, used)| *used == Some(id))
    }

    /// Whether a message is for an abandoned subscription (see [`is_for`]).
    pub(crate) fn is_for(
        &self,
        topic: &str,
        ids: &List<'_, SubscriptionId>,
        requests: &HashMap<u32, Vec<String>>,
    ) -> bool {
        self.requests
            .iter()
            .any(|(filters, id)| is_for(filters, *id, topic, ids, requests))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::ToOwned;
    use std::vec;

    fn filters(names: &[&str]) -> Vec<String> {
        names.iter().map(|&f| f.to_owned()).collect()
    }

    #[test]
    fn an_abandoned_filter_matches_until_unsubscribed_or_subscribed_again() {
        let mut abandoned = Abandoned::default();
        abandoned.add(filters(&["a/#", "b"]), None);
        let none = List::new(&[]);
        let requests = HashMap::new();
        assert!(abandoned.is_for("a/1", &none, &requests));
        assert!(abandoned.is_for("b", &none, &requests));
        abandoned.forget(&filters(&["a/#"]));
        assert!(!abandoned.is_for("a/1", &none, &requests));
        abandoned.forget(&filters(&["b"]));
        assert!(!abandoned.is_for("b", &none, &requests));
        assert!(abandoned.requests.is_empty());
    }

    #[test]
    fn a_known_identifier_decides_over_the_filters() {
        let mut abandoned = Abandoned::default();
        abandoned.add(filters(&["t/#"]), Some(1));
        let mut requests = HashMap::new();
        requests.insert(1, filters(&["t/#"]));
        requests.insert(2, filters(&["t/x"]));
        let live = [SubscriptionId::new(2).unwrap()];
        let dropped = [SubscriptionId::new(1).unwrap()];
        assert!(!abandoned.is_for("t/x", &List::new(&live), &requests));
        assert!(abandoned.is_for("t/x", &List::new(&dropped), &requests));
        assert!(abandoned.uses_id(1) && !abandoned.uses_id(2));
        assert_eq!(abandoned.requests, vec![(filters(&["t/#"]), Some(1))]);
    }
}
