//! Valid and invalid topic names and filters, and shared subscriptions, in both protocol versions.

use super::*;

const OK: Result<(), TopicError> = Ok(());

#[test]
fn topic_name_rules() {
    use TopicError::*;
    let at_limit = "a".repeat(65_535);
    let over_limit = "a".repeat(65_536);
    // 32,768 two-byte characters: the limit is in bytes, not characters.
    let multi_byte_over_limit = "\u{e9}".repeat(32_768);
    let multi_byte_at_limit = format!("{}a", "\u{e9}".repeat(32_767));
    let rows: &[(&str, Result<(), TopicError>)] = &[
        // Valid names, including the spec's examples of section 4.7.3.
        ("sport/tennis/player1", OK),
        ("ACCOUNTS", OK),
        ("Accounts payable", OK),
        ("/finance", OK),
        ("/", OK),
        ("//", OK),
        ("a//b", OK),
        ("sport/", OK),
        (" ", OK),
        ("$SYS/monitor/Clients", OK),
        ("$share/g/x", OK),
        ("temp\u{e9}rature/\u{65e5}\u{672c}/\u{1f642}", OK),
        (&at_limit, OK),
        (&multi_byte_at_limit, OK),
        // At least one character [MQTT-4.7.3-1].
        ("", Err(Empty)),
        // At most 65,535 bytes [MQTT-4.7.3-3].
        (&over_limit, Err(TooLong)),
        (&multi_byte_over_limit, Err(TooLong)),
        // No U+0000 [MQTT-4.7.3-2].
        ("\0", Err(NullCharacter)),
        ("a\0b", Err(NullCharacter)),
        ("sport/\0", Err(NullCharacter)),
        // No control character nor Unicode non-character: a UTF-8 Encoded String SHOULD NOT include them and a
        // receiver MAY take them for a malformed packet (MQTT 5.0 section 1.5.4; mosquitto closes the connection).
        ("line\nbreak", Err(DisallowedCharacter)),
        ("tab\there", Err(DisallowedCharacter)),
        ("\u{1}", Err(DisallowedCharacter)),
        ("a\u{1f}b", Err(DisallowedCharacter)),
        ("del\u{7f}", Err(DisallowedCharacter)),
        ("c1\u{85}", Err(DisallowedCharacter)),
        ("c1\u{9f}", Err(DisallowedCharacter)),
        ("\u{fdd0}", Err(DisallowedCharacter)),
        ("\u{fdef}", Err(DisallowedCharacter)),
        ("\u{fffe}", Err(DisallowedCharacter)),
        ("\u{ffff}", Err(DisallowedCharacter)),
        ("\u{1fffe}", Err(DisallowedCharacter)),
        ("\u{10ffff}", Err(DisallowedCharacter)),
        // Their neighbours are fine.
        (" ~\u{a0}\u{fdcf}\u{fdf0}\u{fffd}\u{1fffd}\u{10fffd}", OK),
        // Precedence: U+0000 first, then a disallowed code point, then a wildcard.
        ("\n\0", Err(NullCharacter)),
        ("+\n", Err(DisallowedCharacter)),
        // No wildcard in a name [MQTT-3.3.2-2], [MQTT-4.7.0-1] (5.0) / [MQTT-4.7.1-1] (3.1.1).
        ("#", Err(WildcardInName)),
        ("+", Err(WildcardInName)),
        ("sport/tennis/#", Err(WildcardInName)),
        ("sport/+/player1", Err(WildcardInName)),
        ("sport#", Err(WildcardInName)),
        ("a+b", Err(WildcardInName)),
        // Precedence: U+0000 is reported before a wildcard.
        ("+\0", Err(NullCharacter)),
    ];
    for &(name, expected) in rows {
        assert_eq!(
            validate_name(name),
            expected,
            "validate_name({:?})",
            shorten(name)
        );
    }
}

#[test]
fn topic_filter_rules() {
    use TopicError::*;
    let at_limit = format!("{}/#", "a".repeat(65_533));
    let over_limit = format!("{}/#", "a".repeat(65_534));
    let shared_over_limit = format!("$share/g/{}", "a".repeat(65_527));
    let rows: &[(&str, Result<(), TopicError>)] = &[
        // Valid filters from the spec's examples of sections 4.7.1 and 4.7.2.
        ("sport/tennis/player1/#", OK),
        ("sport/#", OK),
        ("#", OK),
        ("sport/tennis/#", OK),
        ("sport/tennis/+", OK),
        ("+", OK),
        ("+/tennis/#", OK),
        ("sport/+/player1", OK),
        ("+/+", OK),
        ("/+", OK),
        ("$SYS/#", OK),
        ("$SYS/monitor/+", OK),
        ("+/monitor/Clients", OK),
        // Other valid filters.
        ("/", OK),
        ("//", OK),
        ("a//b", OK),
        ("/#", OK),
        ("+/#", OK),
        ("+/+/+", OK),
        ("a/+/+/#", OK),
        ("sport/", OK),
        ("$", OK),
        ("\u{65e5}\u{672c}/+/\u{1f642}/#", OK),
        (&at_limit, OK),
        // At least one character [MQTT-4.7.3-1].
        ("", Err(Empty)),
        // At most 65,535 bytes [MQTT-4.7.3-3], the $share prefix included.
        (&over_limit, Err(TooLong)),
        (&shared_over_limit, Err(TooLong)),
        // No U+0000 [MQTT-4.7.3-2].
        ("\0", Err(NullCharacter)),
        ("sport/\0/#", Err(NullCharacter)),
        ("$share/g\0/x", Err(NullCharacter)),
        // No control character nor Unicode non-character (MQTT 5.0 section 1.5.4), in any part.
        ("sport/\r/#", Err(DisallowedCharacter)),
        ("$share/g\t/x", Err(DisallowedCharacter)),
        ("a/\u{ffff}/+", Err(DisallowedCharacter)),
        ("a\u{7f}#", Err(DisallowedCharacter)),
        // '#' alone in the last level [MQTT-4.7.1-1] (5.0) / [MQTT-4.7.1-2] (3.1.1).
        ("sport/tennis#", Err(MisplacedMultiLevelWildcard)),
        ("sport/tennis/#/ranking", Err(MisplacedMultiLevelWildcard)),
        ("#/", Err(MisplacedMultiLevelWildcard)),
        ("#/a", Err(MisplacedMultiLevelWildcard)),
        ("##", Err(MisplacedMultiLevelWildcard)),
        ("#/#", Err(MisplacedMultiLevelWildcard)),
        ("a#", Err(MisplacedMultiLevelWildcard)),
        ("#a", Err(MisplacedMultiLevelWildcard)),
        ("+#", Err(MisplacedMultiLevelWildcard)),
        ("a/+#", Err(MisplacedMultiLevelWildcard)),
        // '+' alone in its level [MQTT-4.7.1-2] (5.0) / [MQTT-4.7.1-3] (3.1.1).
        ("sport+", Err(MisplacedSingleLevelWildcard)),
        ("+sport", Err(MisplacedSingleLevelWildcard)),
        ("++", Err(MisplacedSingleLevelWildcard)),
        ("sport/+tennis/#", Err(MisplacedSingleLevelWildcard)),
        ("a/b+/c", Err(MisplacedSingleLevelWildcard)),
        // The leftmost broken level decides.
        ("a+/b#", Err(MisplacedSingleLevelWildcard)),
        ("a#/b+", Err(MisplacedMultiLevelWildcard)),
    ];
    for &(filter, expected) in rows {
        assert_eq!(
            validate_filter(filter),
            expected,
            "validate_filter({:?})",
            shorten(filter)
        );
    }
}

#[test]
fn shared_subscription_filter_rules() {
    use TopicError::*;
    let rows: &[(&str, Result<(), TopicError>)] = &[
        // The spec's examples of section 4.8.2.
        ("$share/consumer1/sport/tennis/+", OK),
        ("$share/consumer2/sport/tennis/+", OK),
        ("$share/consumer1//finance", OK),
        ("$share/consumer1/+/finance", OK),
        ("$share/g/#", OK),
        ("$share/g/$SYS/#", OK),
        ("$share/g/$share/h/x", OK),
        ("$share/$g\u{e9}/x", OK),
        // Not shared subscriptions, so ordinary filters.
        ("$share", OK),
        ("$shared/g/x", OK),
        ("$SHARE//x", OK),
        ("$share+", Err(MisplacedSingleLevelWildcard)),
        // The share name is at least one character [MQTT-4.8.2-1].
        ("$share//x", Err(InvalidSharedSubscription)),
        ("$share//", Err(InvalidSharedSubscription)),
        // It is followed by '/' and a topic filter [MQTT-4.8.2-2].
        ("$share/", Err(InvalidSharedSubscription)),
        ("$share/g", Err(InvalidSharedSubscription)),
        ("$share/g/", Err(InvalidSharedSubscription)),
        // It contains no '+' or '#' [MQTT-4.8.2-2].
        ("$share/+/x", Err(InvalidSharedSubscription)),
        ("$share/#/x", Err(InvalidSharedSubscription)),
        ("$share/g+/x", Err(InvalidSharedSubscription)),
        ("$share/g#/x", Err(InvalidSharedSubscription)),
        ("$share/#", Err(InvalidSharedSubscription)),
        // The filter part obeys the wildcard rules.
        ("$share/g/sport/tennis#", Err(MisplacedMultiLevelWildcard)),
        ("$share/g/#/x", Err(MisplacedMultiLevelWildcard)),
        ("$share/g/sport+", Err(MisplacedSingleLevelWildcard)),
    ];
    for &(filter, expected) in rows {
        assert_eq!(
            validate_filter(filter),
            expected,
            "validate_filter({filter:?})"
        );
        assert_eq!(
            validate_filter_in(filter, ProtocolVersion::V5),
            expected,
            "validate_filter_in({filter:?}, 5.0)"
        );
    }
}

#[test]
fn v311_filters_follow_3_1_1_rules_where_share_is_an_ordinary_prefix() {
    use TopicError::*;
    // 3.1.1 has no shared subscriptions: `$share/...` is checked as an ordinary filter, so what 5.0 refuses as
    // a malformed shared subscription is valid, and `$share/<group>/<filter>` passes unchanged for brokers
    // that offer it as an extension.
    let rows: &[(&str, Result<(), TopicError>)] = &[
        ("$share/group/sport/#", OK),
        ("$share/+/x", OK),
        ("$share/a", OK),
        ("$share/", OK),
        ("$share//x", OK),
        ("$share/#", OK),
        ("$share/+/#", OK),
        // The ordinary wildcard rules still hold.
        ("$share/g+/x", Err(MisplacedSingleLevelWildcard)),
        ("$share/#/x", Err(MisplacedMultiLevelWildcard)),
        ("$share/g#/x", Err(MisplacedMultiLevelWildcard)),
        ("", Err(Empty)),
        ("a\0b", Err(NullCharacter)),
        ("a\nb", Err(DisallowedCharacter)),
    ];
    for &(filter, expected) in rows {
        assert_eq!(
            validate_filter_in(filter, ProtocolVersion::V311),
            expected,
            "validate_filter_in({filter:?}, 3.1.1)"
        );
    }
    assert!(!is_shared_in("$share/g/x", ProtocolVersion::V311));
    assert!(is_shared_in("$share/g/x", ProtocolVersion::V5));
}

#[test]
fn parse_shared_splits_share_name_and_filter() {
    type Parsed = Result<Option<SharedSubscription<'static>>, TopicError>;
    let shared =
        |share_name, filter| -> Parsed { Ok(Some(SharedSubscription { share_name, filter })) };
    let rows: &[(&str, Parsed)] = &[
        (
            "$share/consumer1/sport/tennis/+",
            shared("consumer1", "sport/tennis/+"),
        ),
        ("$share/consumer1//finance", shared("consumer1", "/finance")),
        ("$share/g/#", shared("g", "#")),
        ("$share/g/a/", shared("g", "a/")),
        ("$share/g//", shared("g", "/")),
        ("$share/g/$share/h/x", shared("g", "$share/h/x")),
        ("$share/\u{1f642}/x", shared("\u{1f642}", "x")),
        // Not shared.
        ("sport/#", Ok(None)),
        ("", Ok(None)),
        ("$share", Ok(None)),
        ("$shares/g/x", Ok(None)),
        ("$SHARE/g/x", Ok(None)),
        ("share/g/x", Ok(None)),
        (" $share/g/x", Ok(None)),
        // Malformed.
        ("$share/", Err(TopicError::InvalidSharedSubscription)),
        ("$share/g", Err(TopicError::InvalidSharedSubscription)),
        ("$share/g/", Err(TopicError::InvalidSharedSubscription)),
        ("$share//x", Err(TopicError::InvalidSharedSubscription)),
        ("$share/a+b/x", Err(TopicError::InvalidSharedSubscription)),
        ("$share/a#b/x", Err(TopicError::InvalidSharedSubscription)),
    ];
    for &(filter, expected) in rows {
        assert_eq!(parse_shared(filter), expected, "parse_shared({filter:?})");
    }
}

#[test]
fn parse_shared_leaves_the_filter_part_to_validate_filter() {
    assert_eq!(
        parse_shared("$share/g/a#"),
        Ok(Some(SharedSubscription {
            share_name: "g",
            filter: "a#"
        }))
    );
    assert_eq!(
        validate_filter("$share/g/a#"),
        Err(TopicError::MisplacedMultiLevelWildcard)
    );
}

#[test]
fn is_shared_looks_only_at_the_prefix() {
    for (filter, expected) in [
        ("$share/g/x", true),
        ("$share/", true),
        ("$share//", true),
        ("$share", false),
        ("$shared/g/x", false),
        ("$SHARE/g/x", false),
        ("sport/$share/g/x", false),
        ("", false),
    ] {
        assert_eq!(is_shared(filter), expected, "is_shared({filter:?})");
    }
}

#[test]
fn is_wildcard_detects_either_wildcard() {
    for (filter, expected) in [
        ("#", true),
        ("+", true),
        ("sport/+/player1", true),
        ("sport/#", true),
        ("$share/g/sport/+", true),
        ("sport/tennis/player1", false),
        ("$share/g/sport", false),
        ("$SYS/monitor/Clients", false),
        ("/", false),
    ] {
        assert_eq!(is_wildcard(filter), expected, "is_wildcard({filter:?})");
    }
}

fn shorten(s: &str) -> String {
    if s.len() > 40 {
        format!(
            "{}... ({} bytes)",
            s.chars().take(8).collect::<String>(),
            s.len()
        )
    } else {
        s.to_owned()
    }
}
