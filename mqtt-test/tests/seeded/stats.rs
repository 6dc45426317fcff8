//! The fault mix and outcomes of a batch of seeded runs, summed over the runs and printed at the end.

use std::ops::AddAssign;
use std::time::Duration;

use mqtt_core::Config;

/// The fault mix and outcomes of a batch of runs.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Stats {
    pub(crate) runs: u64,
    pub(crate) runs_v5: u64,
    pub(crate) cuts_to_broker: u64,
    pub(crate) cuts_to_client: u64,
    pub(crate) forgets: u64,
    pub(crate) connections: u64,
    pub(crate) runs_lost_republish: u64,
    pub(crate) runs_lost_report: u64,
    pub(crate) losses: u64,
    pub(crate) published_qos12: u64,
    pub(crate) session_lost_reports: u64,
    /// Losses whose CONNACK never reached the client.
    pub(crate) hidden_losses: u64,
    /// Extra arrivals at the broker of QoS 2 messages republished after a loss (`Republish`).
    pub(crate) qos2_again_republished: u64,
    /// Extra arrivals at the broker of QoS 2 messages resent with DUP after a loss hidden from the client.
    pub(crate) qos2_again_hidden_loss: u64,
    pub(crate) incoming_checked: u64,
    pub(crate) incoming_skipped: u64,
    /// Runs that re-subscribed on every connection (the connect callback habit).
    pub(crate) runs_subscribe_on_connect: u64,
    /// SUBSCRIBE and UNSUBSCRIBE requests made by the habits, each completed exactly once.
    pub(crate) requests: u64,
    /// QoS 1/2 tickets failed as poison: the link ended that many connections in a row with them in flight.
    pub(crate) poisoned: u64,
    pub(crate) runs_slow: u64,
    pub(crate) runs_manual: u64,
    /// Messages held back by a full application queue.
    pub(crate) holds: u64,
    /// Manual acks of a message while an earlier one was still unacknowledged.
    pub(crate) acks_out_of_order: u64,
    /// Manual acks refused (tokens of ended connections).
    pub(crate) stale_acks: u64,
    /// Runs whose client process crashed (and restarted from its store).
    pub(crate) runs_crashed: u64,
    pub(crate) crashes: u64,
    /// QoS 1/2 tickets a restarted process inherited from its store.
    pub(crate) recovered: u64,
    /// Incoming QoS 1/2 messages delivered again after a crash (their acknowledgement had not reached the broker).
    pub(crate) redelivered_after_crash: u64,
    /// Records written to the store, and snapshots (journal overflows and restarts).
    pub(crate) records: u64,
    pub(crate) snapshots: u64,
}

impl AddAssign for Stats {
    fn add_assign(&mut self, o: Self) {
        self.runs += o.runs;
        self.runs_v5 += o.runs_v5;
        self.cuts_to_broker += o.cuts_to_broker;
        self.cuts_to_client += o.cuts_to_client;
        self.forgets += o.forgets;
        self.connections += o.connections;
        self.runs_lost_republish += o.runs_lost_republish;
        self.runs_lost_report += o.runs_lost_report;
        self.losses += o.losses;
        self.published_qos12 += o.published_qos12;
        self.session_lost_reports += o.session_lost_reports;
        self.hidden_losses += o.hidden_losses;
        self.qos2_again_republished += o.qos2_again_republished;
        self.qos2_again_hidden_loss += o.qos2_again_hidden_loss;
        self.incoming_checked += o.incoming_checked;
        self.incoming_skipped += o.incoming_skipped;
        self.runs_subscribe_on_connect += o.runs_subscribe_on_connect;
        self.requests += o.requests;
        self.poisoned += o.poisoned;
        self.runs_slow += o.runs_slow;
        self.runs_manual += o.runs_manual;
        self.holds += o.holds;
        self.acks_out_of_order += o.acks_out_of_order;
        self.stale_acks += o.stale_acks;
        self.runs_crashed += o.runs_crashed;
        self.crashes += o.crashes;
        self.recovered += o.recovered;
        self.redelivered_after_crash += o.redelivered_after_crash;
        self.records += o.records;
        self.snapshots += o.snapshots;
    }
}

impl Stats {
    /// Prints the batch's figures (shown with `--nocapture`).
    pub(crate) fn print(&self, elapsed: Duration, workers: usize) {
        let s = self;
        println!(
            "{} runs ({} in 5.0) in {:.2?} on {workers} threads\n\
             cuts armed: {} client → broker, {} broker → client; {} connections accepted\n\
             broker told to forget the session {} times: {} losses (CONNACK Session Present 0), {} of them hidden from \
             the client (that CONNACK cut off); runs with a loss: {} Republish, {} Report\n\
             QoS 1/2 tickets: {} Published, {} PublishFailed(SessionLost)\n\
             QoS 2 messages again at the broker: {} times republished after a loss, {} times resent after a hidden loss\n\
             incoming QoS 1/2 messages checked: {}, left out (accepted before a loss or before resubscribing): {}\n\
             habits: {} runs subscribed on every connection; {} subscribe/unsubscribe requests, each completed once\n\
             QoS 1/2 tickets failed as poison (the link ended {} connections in a row with them in flight): {}\n\
             slow application in {} runs ({} acking by hand): {} messages held back, {} acks out of order, {} stale \
             tokens refused\n\
             store: {} records, {} snapshots; process crashes: {} in {} runs, {} QoS 1/2 tickets recovered, {} incoming \
             messages delivered again after a crash (unacknowledged then); no QoS 1 lost, no QoS 2 duplicated",
            s.runs,
            s.runs_v5,
            elapsed,
            s.cuts_to_broker,
            s.cuts_to_client,
            s.connections,
            s.forgets,
            s.losses,
            s.hidden_losses,
            s.runs_lost_republish,
            s.runs_lost_report,
            s.published_qos12,
            s.session_lost_reports,
            s.qos2_again_republished,
            s.qos2_again_hidden_loss,
            s.incoming_checked,
            s.incoming_skipped,
            s.runs_subscribe_on_connect,
            s.requests,
            Config::new("").poison_threshold,
            s.poisoned,
            s.runs_slow,
            s.runs_manual,
            s.holds,
            s.acks_out_of_order,
            s.stale_acks,
            s.records,
            s.snapshots,
            s.crashes,
            s.runs_crashed,
            s.recovered,
            s.redelivered_after_crash,
        );
    }
}
