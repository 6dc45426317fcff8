//! Topic names and topic filters (MQTT section 4.7): validation, matching and shared subscriptions.
//!
//! A *topic name* labels a published message (`sport/tennis/player1`); a *topic filter* selects messages in a
//! subscription and may use the wildcards `+` (exactly one level) and `#` (any number of levels, last). A filter of
//! the form `$share/<share name>/<filter>` is an MQTT 5.0 shared subscription (section 4.8.2) whose messages
//! are spread over the clients of the share. MQTT 3.1.1 has no shared subscriptions: [`validate_filter_in`] checks
//! a filter by the rules of the version in use.
//!
//! ```
//! use mqtt_core::topic::{self, SharedSubscription};
//!
//! topic::validate_name("sport/tennis/player1")?;
//! topic::validate_filter("$share/scores/sport/+/player1/#")?;
//!
//! assert!(topic::matches("sport/+/player1/#", "sport/tennis/player1"));
//! assert_eq!(
//!     topic::parse_shared("$share/scores/sport/#")?,
//!     Some(SharedSubscription { share_name: "scores", filter: "sport/#" }),
//! );
//! # Ok::<(), mqtt_core::TopicError>(())
//! ```
//!
//! Spec numbers differ between the versions for the same rule; the docs here give both where they differ.

use crate::codec::{List, ProtocolVersion, UserProperty};
use crate::error::TopicError;

/// The longest topic name or filter, in bytes. `[MQTT-4.7.3-3]`
const MAX_LEN: usize = 65_535;
/// What a shared subscription filter starts with. `[MQTT-4.8.2-1]`
const SHARE_PREFIX: &str = "$share/";

/// Checks that `name` is a valid topic name: 1 to 65,535 bytes, no U+0000, no control character or Unicode
/// non-character (which brokers may take for a malformed packet), no wildcard character.
///
/// `$` names such as `$SYS/uptime` are valid: they are reserved for the server by convention, not by a rule.
/// PUBLISH packets of MQTT 5.0 may carry an empty topic name when they use a Topic Alias; that case is the
/// codec's business, not this function's, and an empty name is an error here.
///
/// # Errors
///
/// The [`TopicError`] naming the first broken rule, checked in this order: [`Empty`](TopicError::Empty),
/// [`TooLong`](TopicError::TooLong), [`NullCharacter`](TopicError::NullCharacter),
/// [`DisallowedCharacter`](TopicError::DisallowedCharacter), [`WildcardInName`](TopicError::WildcardInName).
///
/// # Spec
///
/// `[MQTT-4.7.3-1]` (at least one character), `[MQTT-4.7.3-3]` (65,535 bytes), `[MQTT-4.7.3-2]` (no U+0000),
/// the code points a UTF-8 Encoded String SHOULD NOT include (MQTT 5.0 section 1.5.4, 3.1.1 section 1.5.3), and
/// no wildcard in a name: `[MQTT-3.3.2-2]`, `[MQTT-4.7.1-1]` in 3.1.1, `[MQTT-4.7.0-1]` in 5.0.
///
/// ```
/// use mqtt_core::{TopicError, topic};
///
/// assert_eq!(topic::validate_name("sport/tennis/player1"), Ok(()));
/// assert_eq!(topic::validate_name("sport/tennis/+"), Err(TopicError::WildcardInName));
/// ```
pub fn validate_name(name: &str) -> Result<(), TopicError> {
    check_common(name)?;
    if is_wildcard(name) {
        return Err(TopicError::WildcardInName);
    }
    Ok(())
}

/// Checks that `filter` is a valid topic filter, including `$share/<share name>/<filter>` shared subscriptions.
///
/// `+` must be a whole level and `#` a whole level that is the last one. A filter starting with `$share/` must be a
/// well-formed shared subscription (see [`parse_shared`]), and its filter part obeys the same wildcard rules.
///
/// # Errors
///
/// The [`TopicError`] naming the first broken rule, checked in this order: [`Empty`](TopicError::Empty),
/// [`TooLong`](TopicError::TooLong), [`NullCharacter`](TopicError::NullCharacter),
/// [`DisallowedCharacter`](TopicError::DisallowedCharacter),
/// [`InvalidSharedSubscription`](TopicError::InvalidSharedSubscription), then level by level from the left
/// [`MisplacedMultiLevelWildcard`](TopicError::MisplacedMultiLevelWildcard) (which wins for a level such as `+#`)
/// and [`MisplacedSingleLevelWildcard`](TopicError::MisplacedSingleLevelWildcard).
///
/// # Spec
///
/// `[MQTT-4.7.3-1]`, `[MQTT-4.7.3-2]`, `[MQTT-4.7.3-3]`, the code points a UTF-8 Encoded String SHOULD NOT
/// include (as for [`validate_name`]); `#` placement: `[MQTT-4.7.1-2]` in 3.1.1,
/// `[MQTT-4.7.1-1]` in 5.0; `+` placement: `[MQTT-4.7.1-3]` in 3.1.1, `[MQTT-4.7.1-2]` in 5.0; shared
/// subscriptions: `[MQTT-4.8.2-1]`, `[MQTT-4.8.2-2]`.
///
/// ```
/// use mqtt_core::{TopicError, topic};
///
/// assert_eq!(topic::validate_filter("sport/+/player1/#"), Ok(()));
/// assert_eq!(topic::validate_filter("sport/tennis#"), Err(TopicError::MisplacedMultiLevelWildcard));
/// assert_eq!(topic::validate_filter("sport+"), Err(TopicError::MisplacedSingleLevelWildcard));
/// assert_eq!(topic::validate_filter("$share//sport"), Err(TopicError::InvalidSharedSubscription));
/// ```
pub fn validate_filter(filter: &str) -> Result<(), TopicError> {
    check_common(filter)?;
    let filter = match parse_shared(filter)? {
        Some(shared) => shared.filter,
        None => filter,
    };
    check_wildcards(filter)
}

/// Checks that `filter` is a valid topic filter in `version`: [`validate_filter`] in MQTT 5.0; in MQTT 3.1.1, where
/// `$share/` has no special meaning, the rules of an ordinary filter alone.
///
/// A 3.1.1 broker that offers shared subscriptions as an extension gets `$share/<group>/<filter>` unchanged, and
/// `$share/+/x` or `$share/a`, malformed as 5.0 shared subscriptions, are valid 3.1.1 filters (`+` fills a whole
/// level, and a filter may start with `$`).
///
/// # Errors
///
/// As [`validate_filter`]; [`InvalidSharedSubscription`](TopicError::InvalidSharedSubscription) only in 5.0.
///
/// # Spec
///
/// MQTT 3.1.1 section 4.7 (no shared subscriptions); MQTT 5.0 section 4.8.2 (`[MQTT-4.8.2-1]`, `[MQTT-4.8.2-2]`).
///
/// ```
/// use mqtt_core::codec::ProtocolVersion::{V311, V5};
/// use mqtt_core::{TopicError, topic};
///
/// assert_eq!(topic::validate_filter_in("$share/+/x", V311), Ok(()));
/// assert_eq!(topic::validate_filter_in("$share/+/x", V5), Err(TopicError::InvalidSharedSubscription));
/// assert_eq!(topic::validate_filter_in("$share/group/sport/#", V311), Ok(()));
/// assert_eq!(topic::validate_filter_in("$share/g+/x", V311), Err(TopicError::MisplacedSingleLevelWildcard));
/// ```
pub fn validate_filter_in(filter: &str, version: ProtocolVersion) -> Result<(), TopicError> {
    match version.folded() {
        ProtocolVersion::V311 => {
            check_common(filter)?;
            check_wildcards(filter)
        }
        _ => validate_filter(filter),
    }
}

/// Whether `filter` is a shared subscription in `version`: never in MQTT 3.1.1, where `$share/` is an ordinary
/// prefix; [`is_shared`] in 5.0. Rules about shared subscriptions (No Local, `[MQTT-3.8.3-4]`) apply only where
/// this is true.
#[must_use]
pub fn is_shared_in(filter: &str, version: ProtocolVersion) -> bool {
    version.is_v5() && is_shared(filter)
}

/// The wildcard rules of a filter (or of the filter part of a shared subscription).
fn check_wildcards(filter: &str) -> Result<(), TopicError> {
    // One pass over the bytes: a wildcard must fill its whole level, and '#' must be the last byte. The first
    // level with an error decides; within a level a misplaced '#' is reported before a misplaced '+'.
    let bytes = filter.as_bytes();
    let mut single_misplaced = false;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'/' if single_misplaced => return Err(TopicError::MisplacedSingleLevelWildcard),
            b'#' | b'+' => {
                let starts_level = i == 0 || bytes.get(i - 1) == Some(&b'/');
                let next = bytes.get(i + 1);
                if b == b'#' && !(starts_level && next.is_none()) {
                    return Err(TopicError::MisplacedMultiLevelWildcard);
                }
                single_misplaced |= b == b'+' && !(starts_level && next.is_none_or(|&n| n == b'/'));
            }
            _ => {}
        }
    }
    if single_misplaced {
        return Err(TopicError::MisplacedSingleLevelWildcard);
    }
    Ok(())
}

/// Whether `filter` is a shared subscription, that is whether it starts with `$share/`.
///
/// This only looks at the prefix: a malformed filter such as `$share/` is shared too, and [`validate_filter`]
/// rejects it. Use [`parse_shared`] to get the share name and the filter.
///
/// # Spec
///
/// `[MQTT-4.8.2-1]`. Shared subscriptions are an MQTT 5.0 feature; many 3.1.1 brokers accept them as well.
///
/// ```
/// use mqtt_core::topic;
///
/// assert!(topic::is_shared("$share/group/sport/#"));
/// assert!(!topic::is_shared("$SYS/#"));
/// ```
#[must_use]
pub fn is_shared(filter: &str) -> bool {
    filter.starts_with(SHARE_PREFIX)
}

/// The parts of a shared subscription filter `$share/<share name>/<filter>`.
///
/// Messages whose topic name matches [`filter`](Self::filter) are delivered to one of the sessions subscribed with
/// the same [`share_name`](Self::share_name) rather than to each of them.
///
/// # Spec
///
/// MQTT 5.0 section 4.8.2, `[MQTT-4.8.2-1]`, `[MQTT-4.8.2-2]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SharedSubscription<'a> {
    /// The share name: at least one character, without `/`, `+` or `#`.
    pub share_name: &'a str,
    /// The topic filter that messages are matched against (everything after the share name and its `/`).
    pub filter: &'a str,
}

/// Splits a shared subscription filter `$share/<share name>/<filter>` into its parts.
///
/// Returns `Ok(None)` for a filter that does not start with `$share/` (including `$share` alone, which is an
/// ordinary filter). Only the shared subscription syntax is checked here: whether the filter part is itself a valid
/// topic filter (wildcard placement, U+0000, length) is left to [`validate_filter`], which calls this function.
///
/// # Errors
///
/// [`TopicError::InvalidSharedSubscription`] if the filter starts with `$share/` but the share name is empty or
/// contains `+` or `#`, or no `/` and non-empty filter follow the share name.
///
/// # Spec
///
/// `[MQTT-4.8.2-1]`: the share name is at least one character long. `[MQTT-4.8.2-2]`: it contains no `/`, `+` or
/// `#`, and is followed by `/` and a topic filter (which, `[MQTT-4.7.3-1]`, is at least one character long).
///
/// ```
/// use mqtt_core::{TopicError, topic::{self, SharedSubscription}};
///
/// assert_eq!(
///     topic::parse_shared("$share/consumer1//finance"),
///     Ok(Some(SharedSubscription { share_name: "consumer1", filter: "/finance" })),
/// );
/// assert_eq!(topic::parse_shared("sport/#"), Ok(None));
/// assert_eq!(topic::parse_shared("$share/consumer1"), Err(TopicError::InvalidSharedSubscription));
/// ```
pub fn parse_shared(filter: &str) -> Result<Option<SharedSubscription<'_>>, TopicError> {
    let Some(rest) = filter.strip_prefix(SHARE_PREFIX) else {
        return Ok(None);
    };
    let slash = rest.bytes().position(|b| b == b'/');
    let (share_name, filter) = slash
        .and_then(|at| Some((rest.get(..at)?, rest.get(at + 1..)?)))
        .ok_or(TopicError::InvalidSharedSubscription)?;
    if share_name.is_empty() || filter.is_empty() || is_wildcard(share_name) {
        return Err(TopicError::InvalidSharedSubscription);
    }
    Ok(Some(SharedSubscription { share_name, filter }))
}

/// Whether `filter` contains a wildcard, so that it can match more than one topic name.
///
/// Useful before subscribing to an MQTT 5.0 server whose CONNACK carries Wildcard Subscription Available (`0x28`)
/// set to 0. For a shared subscription, only the filter part can hold wildcards (a share name cannot). The answer is
/// meaningful for a valid filter; for any string it is whether `+` or `#` occurs in it.
///
/// # Spec
///
/// MQTT 5.0 section 4.7.1, and the CONNACK property Wildcard Subscription Available, which lets a server refuse
/// wildcard subscriptions with reason code `0xA2`.
///
/// ```
/// use mqtt_core::topic;
///
/// assert!(topic::is_wildcard("sport/+/player1"));
/// assert!(topic::is_wildcard("$share/group/#"));
/// assert!(!topic::is_wildcard("sport/tennis/player1"));
/// ```
#[must_use]
pub fn is_wildcard(filter: &str) -> bool {
    // Bytes, not `str` patterns: a firmware does not need the string searchers for two ASCII characters.
    filter.bytes().any(|b| b == b'+' || b == b'#')
}

/// Whether the topic filter `filter` matches the topic name `name`.
///
/// Both are split into levels on `/`, and empty levels count: `a//b` has three levels and `/finance` two.
/// A level of the filter matches the same level of the name character for character (no case folding, no Unicode
/// normalization); `+` matches any one level, empty included; `#` matches any number of remaining levels,
/// zero included, so `sport/#` matches `sport` as well as `sport/tennis`. A filter that starts with a wildcard
/// does not match a name that starts with `$`, so `#` does not match `$SYS/uptime`. A shared subscription
/// `$share/<share name>/<filter>` matches as its filter part, and that part's first character decides the `$` rule.
///
/// This does not validate its arguments (call [`validate_filter`] and [`validate_name`] for that) and runs in time
/// linear in their lengths without allocating. For an invalid filter or name the answer is unspecified, but it is
/// never a panic; a `#` that is not the last level matches nothing. A filter that starts with `$share/` but is not
/// a well-formed shared subscription (`$share/+/x`, `$share/a`) is matched as an ordinary filter: 5.0 refuses such
/// filters, and in 3.1.1 they are ordinary filters ([`validate_filter_in`]).
///
/// Note that a *name* that starts with `$share/` does not match itself used as a filter, since the filter is a
/// shared subscription to the rest: `$share/g/x` matches `x`.
///
/// # Spec
///
/// MQTT 5.0 sections 4.7.1.2 and 4.7.1.3 (wildcards, non-normative examples), `[MQTT-4.7.2-1]` (`$` topics),
/// `[MQTT-4.7.3-4]` (no normalization), and section 4.8.2 (shared subscriptions); 3.1.1 sections 4.7.1 to 4.7.3.
///
/// ```
/// use mqtt_core::topic::matches;
///
/// assert!(matches("sport/tennis/+", "sport/tennis/player1"));
/// assert!(!matches("sport/tennis/+", "sport/tennis/player1/ranking"));
/// assert!(matches("sport/#", "sport"));
/// assert!(!matches("sport/+", "sport"));
/// assert!(matches("sport/+", "sport/"));
/// assert!(!matches("#", "$SYS/monitor/Clients"));
/// assert!(matches("$SYS/#", "$SYS/monitor/Clients"));
/// assert!(matches("$share/group/sport/#", "sport/tennis"));
/// ```
#[must_use]
pub fn matches(filter: &str, name: &str) -> bool {
    let filter = match parse_shared(filter) {
        Ok(Some(shared)) => shared.filter,
        Ok(None) | Err(_) => filter,
    };
    if name.starts_with('$')
        && filter
            .bytes()
            .next()
            .is_some_and(|b| b == b'+' || b == b'#')
    {
        return false;
    }
    let mut filter_levels = filter.as_bytes().split(|&b| b == b'/');
    let mut name_levels = name.as_bytes().split(|&b| b == b'/');
    while let Some(level) = filter_levels.next() {
        if level == b"#" {
            // Zero or more levels, the parent included; only valid as the last level.
            return filter_levels.next().is_none();
        }
        let Some(name_level) = name_levels.next() else {
            return false;
        };
        if level != b"+" && level != name_level {
            return false;
        }
    }
    name_levels.next().is_none()
}

fn check_common(topic: &str) -> Result<(), TopicError> {
    if topic.is_empty() {
        return Err(TopicError::Empty);
    }
    if topic.len() > MAX_LEN {
        return Err(TopicError::TooLong);
    }
    if topic.bytes().any(|b| b == 0) {
        return Err(TopicError::NullCharacter);
    }
    if topic.chars().any(is_disallowed) {
        return Err(TopicError::DisallowedCharacter);
    }
    Ok(())
}

/// Whether `c` is one of the code points a UTF-8 Encoded String SHOULD NOT include, and that a receiver MAY
/// treat as a malformed packet (mosquitto closes the connection): the control characters U+0001 to U+001F and
/// U+007F to U+009F, and the Unicode non-characters (U+FDD0 to U+FDEF, and the last two code points of every
/// plane). MQTT 5.0 section 1.5.4, MQTT 3.1.1 section 1.5.3.
pub(crate) fn is_disallowed(c: char) -> bool {
    let c = u32::from(c);
    matches!(c, 0x01..=0x1f | 0x7f..=0x9f | 0xfdd0..=0xfdef) || c & 0xfffe == 0xfffe
}

/// Whether `text` makes a UTF-8 Encoded String a receiver takes for well-formed: no U+0000 (`[MQTT-1.5.4-2]`)
/// and none of the code points of [`is_disallowed`] (MQTT 5.0 section 1.5.4).
pub(crate) fn is_sendable_text(text: &str) -> bool {
    !text.chars().any(|c| c == '\0' || is_disallowed(c))
}

/// Whether a user property's name and value are both [sendable](is_sendable_text).
pub(crate) fn is_sendable_pair(pair: &UserProperty<'_>) -> bool {
    is_sendable_text(pair.name) && is_sendable_text(pair.value)
}

/// Whether the text properties of an outgoing message (a PUBLISH or a will) make a well-formed packet: the
/// Response Topic a topic name (`[MQTT-3.3.2-13]`, `[MQTT-3.3.2-14]`), the Content Type and user properties free
/// of U+0000 (`[MQTT-1.5.4-2]`) and of the code points a receiver may take for a malformed packet (MQTT 5.0
/// section 1.5.4). The name of the first property that is not: `"response topic"`, `"content type"` or
/// `"user property"`.
pub(crate) fn check_text_properties(
    response_topic: Option<&str>,
    content_type: Option<&str>,
    user_properties: List<'_, UserProperty<'_>>,
) -> Result<(), &'static str> {
    if response_topic.is_some_and(|name| validate_name(name).is_err()) {
        return Err("response topic");
    }
    if content_type.is_some_and(|text| !is_sendable_text(text)) {
        return Err("content type");
    }
    if !user_properties.iter().all(|pair| is_sendable_pair(&pair)) {
        return Err("user property");
    }
    Ok(())
}
