//! What mosquitto's log (`log_type all`) says about its QoS 2 flows towards a client across its own restarts.

use std::collections::HashSet;

/// The QoS 2 messages mosquitto sent `client` again as a PUBLISH (DUP 1) after a restart, although before the
/// restart it had already sent their PUBREL (the client had answered PUBREC) and had no PUBCOMP yet. The spec
/// asks for the PUBREL again (`[MQTT-4.4.0-1]`); the client, which may have completed the flow and freed the
/// packet identifier, must take such a PUBLISH as a new message (`[MQTT-4.3.3-12]`): an end-to-end duplicate that
/// is the broker's. mosquitto 2.0 does this after restoring its persistence database.
pub(super) fn pubrels_resent_as_publish(log: &str, client: &str) -> usize {
    let pubrel = format!("Sending PUBREL to {client} (m");
    let pubcomp = format!("Received PUBCOMP from {client} (Mid: ");
    let resent = format!("Sending PUBLISH to {client} (d1, q2, ");
    let mut awaiting_pubcomp: HashSet<u16> = HashSet::new();
    let mut carried: HashSet<u16> = HashSet::new();
    let mut count = 0;
    for line in log.lines() {
        if line.contains("mosquitto version") && line.ends_with(" starting") {
            carried = std::mem::take(&mut awaiting_pubcomp);
        } else if let Some(id) = id_after(line, &pubrel) {
            carried.remove(&id);
            awaiting_pubcomp.insert(id);
        } else if let Some(id) = id_after(line, &pubcomp) {
            awaiting_pubcomp.remove(&id);
        } else if let Some(rest) = line.split_once(&resent).map(|(_, rest)| rest)
            && let Some(id) = id_after(rest, "r0, m").or_else(|| id_after(rest, "r1, m"))
            && carried.remove(&id)
        {
            count += 1;
        }
    }
    count
}

/// The packet identifier right after `prefix` in `line`.
fn id_after(line: &str, prefix: &str) -> Option<u16> {
    let (_, rest) = line.split_once(prefix)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::pubrels_resent_as_publish;

    #[test]
    fn a_pubrel_resent_as_publish_after_a_restart_is_counted_once() {
        let log = "\
1: Sending PUBLISH to sub (d0, q2, r0, m7, 't', ... (4 bytes))
1: Received PUBREC from sub (Mid: 7)
1: Sending PUBREL to sub (m7)
1: Sending PUBREL to sub (m8)
1: Received PUBCOMP from sub (Mid: 8, RC:0)
1: Sending PUBREL to sub (m9)
1: mosquitto version 2.0.11 terminating
2: mosquitto version 2.0.11 starting
2: Sending PUBLISH to sub (d1, q2, r0, m7, 't', ... (4 bytes))
2: Sending PUBLISH to sub (d1, q2, r0, m8, 't', ... (4 bytes))
2: Sending PUBREL to sub (m9)
2: Sending PUBLISH to sub (d1, q2, r0, m7, 't', ... (4 bytes))
";
        assert_eq!(pubrels_resent_as_publish(log, "sub"), 1);
        assert_eq!(pubrels_resent_as_publish(log, "other"), 0);
    }
}
