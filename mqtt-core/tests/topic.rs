//! Topic names, filters, matching and shared subscriptions (`mqtt_core::topic`), against the examples and rules of
//! MQTT 3.1.1 and 5.0 sections 4.7 and 4.8.2.
//!
//! Every test lives in a module whose name starts with `topic_`, so that `cargo test -p mqtt-core topic` runs them.

use mqtt_core::TopicError;
use mqtt_core::codec::ProtocolVersion;
use mqtt_core::topic::{
    SharedSubscription, is_shared, is_shared_in, is_wildcard, matches, parse_shared,
    validate_filter, validate_filter_in, validate_name,
};

#[path = "topic/matching.rs"]
mod topic_matching;
#[path = "topic/properties.rs"]
mod topic_properties;
#[path = "topic/validation.rs"]
mod topic_validation;
