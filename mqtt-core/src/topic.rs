//! Topic names and topic filters (MQTT section 4.7): validation, matching and shared subscriptions.

use crate::error::TopicError;

const MAX_LEN: usize = 65_535;
const SHARE_PREFIX: &str = "$share/";

/// Checks that `name` is a valid topic name: 1 to 65,535 bytes, no U+0000, no wildcards.
///
/// # Errors
///
/// The [`TopicError`] naming the broken rule.
pub fn validate_name(name: &str) -> Result<(), TopicError> {
    check_common(name)?;
    if name.bytes().any(|b| b == b'+' || b == b'#') {
        return Err(TopicError::WildcardInName);
    }
    Ok(())
}

/// Checks that `filter` is a valid topic filter, including `$share/<share name>/<filter>` shared subscriptions.
///
/// # Errors
///
/// The [`TopicError`] naming the broken rule.
pub fn validate_filter(filter: &str) -> Result<(), TopicError> {
    check_common(filter)?;
    let filter = match filter.strip_prefix(SHARE_PREFIX) {
        Some(rest) => {
            let (share, inner) = rest.split_once('/').ok_or(TopicError::InvalidSharedSubscription)?;
            if share.is_empty() || inner.is_empty() || share.bytes().any(|b| b == b'+' || b == b'#') {
                return Err(TopicError::InvalidSharedSubscription);
            }
            inner
        }
        None => filter,
    };
    let mut levels = filter.split('/').peekable();
    while let Some(level) = levels.next() {
        if level.contains('#') && (level != "#" || levels.peek().is_some()) {
            return Err(TopicError::MisplacedMultiLevelWildcard);
        }
        if level.contains('+') && level != "+" {
            return Err(TopicError::MisplacedSingleLevelWildcard);
        }
    }
    Ok(())
}

/// Whether `filter` is a shared subscription (`$share/...`).
pub fn is_shared(filter: &str) -> bool {
    filter.starts_with(SHARE_PREFIX)
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
    Ok(())
}
