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

mod topic_matching {
    use super::*;

    /// Checks each `(filter, name, expected)` row, reporting every failing row at once.
    fn check(rows: &[(&str, &str, bool)]) {
        let failures: Vec<String> = rows
            .iter()
            .filter(|&&(filter, name, expected)| matches(filter, name) != expected)
            .map(|&(filter, name, expected)| {
                format!("matches({filter:?}, {name:?}) should be {expected}")
            })
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn multi_level_wildcard_examples_of_section_4_7_1_2() {
        check(&[
            ("sport/tennis/player1/#", "sport/tennis/player1", true),
            (
                "sport/tennis/player1/#",
                "sport/tennis/player1/ranking",
                true,
            ),
            (
                "sport/tennis/player1/#",
                "sport/tennis/player1/score/wimbledon",
                true,
            ),
            ("sport/tennis/player1/#", "sport/tennis", false),
            ("sport/tennis/player1/#", "sport/tennis/player2", false),
            ("sport/tennis/player1/#", "sport/tennis/player10", false),
            // "sport/#" also matches the singular "sport", since # includes the parent level.
            ("sport/#", "sport", true),
            ("sport/#", "sport/tennis/player1", true),
            ("sport/#", "sports", false),
            ("sport/#", "spor", false),
            // "#" is valid and will receive every Application Message (but see the $ rule).
            ("#", "sport", true),
            ("#", "sport/tennis/player1", true),
            ("#", "/", true),
            ("#", "a//b", true),
            ("sport/tennis/#", "sport/tennis", true),
            ("sport/tennis/#", "sport/tennis/player1/ranking", true),
            ("sport/tennis/#", "sport", false),
        ]);
    }

    #[test]
    fn single_level_wildcard_examples_of_section_4_7_1_3() {
        check(&[
            ("sport/tennis/+", "sport/tennis/player1", true),
            ("sport/tennis/+", "sport/tennis/player2", true),
            ("sport/tennis/+", "sport/tennis/player1/ranking", false),
            ("sport/tennis/+", "sport/tennis", false),
            // The single-level wildcard matches only a single level: not the parent, but an empty level.
            ("sport/+", "sport", false),
            ("sport/+", "sport/", true),
            ("+", "finance", true),
            ("+/tennis/#", "sport/tennis/player1", true),
            ("+/tennis/#", "sport/tennis", true),
            ("+/tennis/#", "sport/golf", false),
            ("sport/+/player1", "sport/tennis/player1", true),
            ("sport/+/player1", "sport/tennis/player2", false),
            // "/finance" matches "+/+" and "/+", but not "+".
            ("+/+", "/finance", true),
            ("/+", "/finance", true),
            ("+", "/finance", false),
        ]);
    }

    #[test]
    fn wildcard_filters_do_not_match_dollar_topics_section_4_7_2() {
        check(&[
            // A subscription to "#" will not receive messages published to a topic beginning with $.
            ("#", "$SYS/monitor/Clients", false),
            ("#", "$SYS", false),
            ("#", "$", false),
            // "+/monitor/Clients" will not receive messages published to "$SYS/monitor/Clients".
            ("+/monitor/Clients", "$SYS/monitor/Clients", false),
            ("+", "$SYS", false),
            ("+/#", "$SYS/monitor", false),
            ("+/+/+", "$SYS/monitor/Clients", false),
            // "$SYS/#" receives messages published to topics beginning with "$SYS/".
            ("$SYS/#", "$SYS/monitor/Clients", true),
            ("$SYS/#", "$SYS/", true),
            ("$SYS/#", "$SYS", true),
            ("$SYS/monitor/+", "$SYS/monitor/Clients", true),
            ("$SYS/monitor/Clients", "$SYS/monitor/Clients", true),
            // Only the first character of the name counts, and only a filter starting with a wildcard is affected.
            ("#", "SYS/$monitor", true),
            ("+/+", "a/$b", true),
            ("a/#", "a/$b", true),
            ("$SYS/+", "$SYS/$monitor", true),
        ]);
    }

    #[test]
    fn topics_are_case_sensitive_and_not_normalized_section_4_7_3() {
        check(&[
            // "ACCOUNTS" and "Accounts" are two different topic names.
            ("ACCOUNTS", "Accounts", false),
            ("Accounts", "ACCOUNTS", false),
            ("Accounts", "Accounts", true),
            // "Accounts payable" is a valid topic name; spaces are ordinary characters.
            ("Accounts payable", "Accounts payable", true),
            ("Accounts payable", "Accountspayable", false),
            // "/finance" is different from "finance".
            ("/finance", "finance", false),
            ("finance", "/finance", false),
            ("/finance", "/finance", true),
            // No Unicode normalization [MQTT-4.7.3-4]: precomposed U+00E9 is not e + U+0301.
            ("caf\u{e9}", "cafe\u{301}", false),
            ("caf\u{e9}/+", "cafe\u{301}/x", false),
        ]);
    }

    #[test]
    fn empty_levels_are_significant() {
        check(&[
            ("a//b", "a//b", true),
            ("a//b", "a/b", false),
            ("a/b", "a//b", false),
            ("a/+/b", "a//b", true),
            ("a/+/b", "a/b", false),
            ("/", "/", true),
            ("/", "//", false),
            ("//", "/", false),
            ("+/+", "/", true),
            ("+", "/", false),
            ("/#", "/", true),
            ("/#", "/a/b", true),
            ("/#", "a", false),
            ("/+", "/", true),
            ("+/", "a/", true),
            ("+/", "a", false),
            ("+//+", "a//b", true),
            ("+//+", "a/x/b", false),
        ]);
    }

    #[test]
    fn trailing_slash_adds_an_empty_level() {
        check(&[
            ("sport/", "sport", false),
            ("sport", "sport/", false),
            ("sport/", "sport/", true),
            ("sport/+", "sport/", true),
            ("sport/#", "sport/", true),
            ("sport/+/", "sport/tennis/", true),
            ("sport/+/", "sport/tennis", false),
        ]);
    }

    #[test]
    fn multi_level_wildcard_alone_matches_every_level_count() {
        check(&[
            ("#", "a", true),
            ("#", "a/b/c/d/e/f/g", true),
            ("#", "//", true),
            ("a/#", "a", true),
            ("a/#", "a/", true),
            ("a/#", "a//", true),
            ("a/#", "b", false),
            ("a/#", "ab/c", false),
            ("+/#", "a", true),
            ("+/#", "a/b/c", true),
            ("+/+/#", "a", false),
            ("+/+/#", "a/b", true),
        ]);
    }

    #[test]
    fn single_level_wildcard_alone_matches_exactly_one_level() {
        check(&[
            ("+", "a", true),
            ("+", "a/b", false),
            ("+", "a/", false),
            ("+/+", "a", false),
            ("+/+", "a/b", true),
            ("+/+", "a/b/c", false),
            ("a/+", "a/b/c", false),
            ("+/b", "a/b", true),
            ("+/b", "a/c", false),
        ]);
    }

    #[test]
    fn literal_filters_match_only_the_same_levels() {
        check(&[
            ("a/b", "a/b", true),
            ("a/b", "a", false),
            ("a", "a/b", false),
            ("a/b", "a/b/c", false),
            ("a/b/c", "a/b", false),
            ("a/b", "a/bc", false),
            ("a/bc", "a/b", false),
            ("ab", "a", false),
        ]);
    }

    #[test]
    fn multi_byte_utf8_levels_match_whole_characters() {
        check(&[
            ("temp\u{e9}rature/+", "temp\u{e9}rature/salon", true),
            (
                "\u{65e5}\u{672c}/+/\u{6e29}\u{5ea6}",
                "\u{65e5}\u{672c}/\u{6771}\u{4eac}/\u{6e29}\u{5ea6}",
                true,
            ),
            (
                "\u{65e5}\u{672c}/+/\u{6e29}\u{5ea6}",
                "\u{65e5}\u{672c}/\u{6771}\u{4eac}",
                false,
            ),
            ("+", "\u{1f642}", true),
            ("\u{1f642}/#", "\u{1f642}/\u{1f643}/x", true),
            ("\u{1f642}", "\u{1f643}", false),
            // Same first bytes (U+20AC is E2 82 AC, U+20AD is E2 82 AD): levels compare whole.
            ("\u{20ac}", "\u{20ad}", false),
            ("+/\u{20ac}", "x/\u{20ac}", true),
        ]);
    }

    #[test]
    fn shared_subscription_matches_as_its_filter_part() {
        check(&[
            (
                "$share/consumer1/sport/tennis/+",
                "sport/tennis/player1",
                true,
            ),
            (
                "$share/consumer2/sport/tennis/+",
                "sport/tennis/player2",
                true,
            ),
            ("$share/consumer1/sport/tennis/+", "sport/tennis", false),
            ("$share/consumer1//finance", "/finance", true),
            ("$share/consumer1//finance", "finance", false),
            ("$share/g/#", "sport", true),
            ("$share/g/sport/#", "sport", true),
            // The $ rule applies to the filter part, which starts with a wildcard here.
            ("$share/g/#", "$SYS/monitor", false),
            ("$share/g/+/monitor", "$SYS/monitor", false),
            ("$share/g/$SYS/#", "$SYS/monitor", true),
            // The share name and prefix are not levels of the name.
            ("$share/g/sport", "$share/g/sport", false),
            ("$share/g/+", "g/sport", false),
            // A topic literally named "$share/g/sport" is reachable only through another share.
            ("$share/h/$share/g/sport", "$share/g/sport", true),
            // Not shared subscriptions: compared literally.
            ("$share", "$share", true),
            ("$shared/g/x", "$shared/g/x", true),
            ("$SHARE/g/x", "$SHARE/g/x", true),
            ("$SHARE/g/x", "x", false),
        ]);
    }

    #[test]
    fn malformed_shared_subscriptions_match_as_ordinary_filters() {
        // 5.0 refuses these filters; a 3.1.1 broker holds them as ordinary filters and sends what they match.
        check(&[
            ("$share/g", "$share/g", true),
            ("$share/g", "g", false),
            ("$share/", "$share/", true),
            ("$share//x", "x", false),
            ("$share//x", "$share//x", true),
            ("$share/g/", "", false),
            ("$share/+/x", "$share/a/x", true),
            ("$share/+/x", "x", false),
            ("$share/g+/x", "x", false),
            ("$share/g#/x", "x", false),
        ]);
    }

    #[test]
    fn misplaced_multi_level_wildcard_matches_nothing() {
        check(&[
            (
                "sport/tennis/#/ranking",
                "sport/tennis/player1/ranking",
                false,
            ),
            ("sport/tennis/#/ranking", "sport/tennis/#/ranking", false),
            ("#/", "a/", false),
            ("#/#", "a/b", false),
        ]);
    }

    #[test]
    fn invalid_inputs_never_panic() {
        let inputs = [
            "",
            "/",
            "//",
            "#",
            "+",
            "##",
            "++",
            "+#",
            "#+",
            "a#",
            "#a",
            "a/#/b",
            "a/+b",
            "$",
            "$share",
            "$share/",
            "$share//",
            "$share///",
            "$share/g",
            "$share/g/",
            "$share/+/#",
            "$share/#",
            "\0",
            "a\0b",
            "\u{1f642}#",
            "\u{e9}+",
        ];
        for filter in inputs {
            for name in inputs {
                let _ = matches(filter, name);
            }
        }
        let long = "a/".repeat(40_000);
        let _ = matches(&long, &long);
        let _ = matches("#", &long);
        let _ = matches(&long, "a");
    }
}

mod topic_validation {
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
}

mod topic_properties {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::Index;

    /// One level of a topic name: often empty, `$`-prefixed or multi-byte, never a wildcard or '/'.
    fn name_level() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[a-c]{1,3}",
            1 => Just(String::new()),
            1 => Just("$SYS".to_owned()),
            1 => Just("$share".to_owned()),
            1 => "\\$[a-c]{0,2}",
            2 => "[^+#/\u{0}]{1,4}",
        ]
    }

    /// A valid topic name of one to six levels.
    fn name() -> impl Strategy<Value = String> {
        vec(name_level(), 1..7)
            .prop_map(|levels| levels.join("/"))
            .prop_filter("names are not empty", |n| !n.is_empty())
    }

    /// A valid filter over a small alphabet, so that it often matches names from [`small_name`].
    fn small_filter() -> impl Strategy<Value = String> {
        let level = prop_oneof![
            3 => prop::sample::select(&["a", "b", "", "$a"][..]).prop_map(str::to_owned),
            2 => Just("+".to_owned()),
        ];
        (
            vec(level, 1..5),
            any::<bool>(),
            prop::option::of(prop::sample::select(&["g", "h"][..])),
        )
            .prop_map(|(mut levels, hash, share)| {
                if hash {
                    levels.push("#".to_owned());
                }
                let filter = levels.join("/");
                match share {
                    Some(group) if !filter.is_empty() => format!("$share/{group}/{filter}"),
                    _ => filter,
                }
            })
            .prop_filter("filters are not empty", |f| !f.is_empty())
    }

    /// A valid name over the alphabet of [`small_filter`].
    fn small_name() -> impl Strategy<Value = String> {
        vec(prop::sample::select(&["a", "b", "", "$a"][..]), 1..6)
            .prop_map(|levels| levels.join("/"))
            .prop_filter("names are not empty", |n| !n.is_empty())
    }

    /// An independent statement of the matching rules over already split levels.
    fn reference_matches(filter: &str, name: &str) -> bool {
        fn levels(filter: &[&str], name: &[&str]) -> bool {
            match (filter, name) {
                ([], []) => true,
                (["#"], _) => true,
                (["+", f @ ..], [_, n @ ..]) => levels(f, n),
                ([l, f @ ..], [m, n @ ..]) => l == m && levels(f, n),
                _ => false,
            }
        }
        let filter = filter
            .strip_prefix("$share/")
            .map_or(filter, |rest| rest.split_once('/').unwrap().1);
        if name.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
            return false;
        }
        let f: Vec<&str> = filter.split('/').collect();
        let n: Vec<&str> = name.split('/').collect();
        levels(&f, &n)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn every_valid_name_matches_itself_as_a_filter(name in name()) {
            prop_assert_eq!(validate_name(&name), Ok(()));
            prop_assert_eq!(validate_filter(&name).is_ok(), parse_shared(&name).is_ok());
            // A name starting with "$share/" is a shared subscription to something else once used as a filter.
            prop_assume!(!is_shared(&name));
            prop_assert!(matches(&name, &name));
        }

        #[test]
        fn multi_level_wildcard_matches_every_name_not_starting_with_dollar(name in name()) {
            prop_assert_eq!(matches("#", &name), !name.starts_with('$'));
        }

        #[test]
        fn replacing_one_level_with_plus_still_matches(name in name(), index in any::<Index>()) {
            prop_assume!(!is_shared(&name));
            let mut levels: Vec<&str> = name.split('/').collect();
            let replaced = index.index(levels.len());
            levels[replaced] = "+";
            let filter = levels.join("/");
            prop_assert_eq!(validate_filter(&filter), Ok(()));
            // Only a leading '+' meets the $ rule.
            let expected = !(replaced == 0 && name.starts_with('$'));
            prop_assert_eq!(matches(&filter, &name), expected, "filter {:?}", filter);
        }

        #[test]
        fn name_followed_by_multi_level_wildcard_matches_the_name_and_its_children(
            name in name(),
            child in name(),
        ) {
            let filter = format!("{name}/#");
            // "$share" + "/#" would be a (malformed) shared subscription.
            prop_assume!(!is_shared(&filter));
            prop_assert_eq!(validate_filter(&filter), Ok(()));
            prop_assert!(matches(&filter, &name));
            let descendant = format!("{name}/{child}");
            prop_assert!(matches(&filter, &descendant));
        }

        #[test]
        fn a_longer_or_shorter_name_does_not_match_a_literal_filter(name in name(), extra in name_level()) {
            let longer = format!("{name}/{extra}");
            prop_assume!(!is_shared(&longer));
            prop_assert!(!matches(&name, &longer));
            prop_assert!(!matches(&longer, &name));
        }

        #[test]
        fn matches_agrees_with_a_reference_matcher(filter in small_filter(), name in small_name()) {
            prop_assert_eq!(validate_filter(&filter), Ok(()));
            prop_assert_eq!(validate_name(&name), Ok(()));
            prop_assert_eq!(matches(&filter, &name), reference_matches(&filter, &name));
        }

        #[test]
        fn generated_filters_from_mqtt_test_are_valid(filter in mqtt_test::strategy::topic_filter()) {
            prop_assert_eq!(validate_filter(filter), Ok(()));
        }

        #[test]
        fn functions_never_panic_on_arbitrary_strings(filter in any::<String>(), name in any::<String>()) {
            let _ = matches(&filter, &name);
            let _ = validate_filter(&filter);
            let _ = validate_name(&name);
            let _ = parse_shared(&filter);
            let _ = is_wildcard(&filter);
        }

        #[test]
        fn functions_never_panic_on_topic_like_strings(
            filter in "(\\$share/)?[ab/+#$\u{0}\u{e9}]{0,12}",
            name in "[ab/+#$\u{0}\u{e9}]{0,12}",
        ) {
            let matched = matches(&filter, &name);
            let _ = validate_name(&name);
            let _ = is_wildcard(&filter);
            match parse_shared(&filter) {
                Ok(Some(shared)) => prop_assert_eq!(format!("$share/{}/{}", shared.share_name, shared.filter), filter.clone()),
                Ok(None) => prop_assert!(!is_shared(&filter)),
                Err(_) => prop_assert!(!matched),
            }
            if validate_filter(&filter).is_ok() && validate_name(&name).is_ok() {
                prop_assert_eq!(matched, reference_matches(&filter, &name));
            }
        }
    }
}
