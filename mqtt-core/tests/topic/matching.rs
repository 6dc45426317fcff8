//! Matching topic names against filters: the examples of sections 4.7.1 to 4.7.3, empty, trailing and multi-byte
//! levels, shared subscriptions, misplaced wildcards, and inputs that must never panic.

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
