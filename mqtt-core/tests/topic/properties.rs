//! Properties of matching and validation over generated topic names and filters (proptest).

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
        // Anything but the wildcards, '/', U+0000 and the control characters (which names do not hold); the
        // non-characters of the other planes are filtered out in `name`.
        2 => "[^+#/\u{0}-\u{1f}\u{7f}-\u{9f}\u{fdd0}-\u{fdef}]{1,4}",
    ]
}

/// A valid topic name of one to six levels.
fn name() -> impl Strategy<Value = String> {
    vec(name_level(), 1..7)
        .prop_map(|levels| levels.join("/"))
        .prop_filter("names are not empty", |n| !n.is_empty())
        .prop_filter("no Unicode non-character", |n| {
            !n.chars().any(|c| u32::from(c) & 0xfffe == 0xfffe)
        })
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
