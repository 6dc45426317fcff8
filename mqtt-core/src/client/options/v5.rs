//! The [`Options`] that only MQTT 5.0 uses: CONNECT properties, topic aliases, subscription identifiers,
//! redirection, enhanced authentication.

use std::borrow::ToOwned;
use std::boxed::Box;
use std::string::String;
use std::sync::Arc;

use super::{AuthFactory, Options};
use crate::session::Authenticator;

impl Options {
    /// One more 5.0 user property in CONNECT.
    pub fn user_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.user_properties.push((name.into(), value.into()));
        self
    }

    /// 5.0 Request Problem Information (default `true`): with `false` the broker sends Reason Strings and user
    /// properties only on PUBLISH, CONNACK and DISCONNECT.
    pub fn request_problem_information(mut self, request: bool) -> Self {
        self.request_problem_information = request;
        self
    }

    /// 5.0 Request Response Information (default `false`): asks the broker for the basis of response topics, which
    /// [`ServerInfo::response_information`](crate::client::ServerInfo::response_information) then gives and `request`
    /// uses.
    pub fn request_response_information(mut self, request: bool) -> Self {
        self.request_response_information = request;
        self
    }

    /// Whether CONNECT tells a 5.0 broker the largest packet the client accepts (default `true`, the value of
    /// [`max_packet_size`](Self::max_packet_size)). With `false` the property is left out, for brokers that
    /// mishandle it; a larger packet from the broker still ends the connection.
    pub fn announce_maximum_packet_size(mut self, announce: bool) -> Self {
        self.announce_maximum_packet_size = announce;
        self
    }

    /// 5.0 topic aliases: `incoming` aliases the broker may use towards the client (Topic Alias Maximum in
    /// CONNECT), and `outgoing` aliases the client assigns on its own to the topics it publishes to, within the
    /// broker's Topic Alias Maximum: a free alias while there is one, then the least recently used one goes to
    /// the new topic. Default 0 and 0: none. Each alias keeps a topic of up to 256 bytes (see
    /// [`topic_alias_len`](Self::topic_alias_len)): longer topics are sent whole.
    pub fn topic_aliases(mut self, incoming: u16, outgoing: u16) -> Self {
        self.topic_alias_maximum = incoming;
        self.outgoing_topic_aliases = outgoing;
        self
    }

    /// The longest topic an alias stands for (default 256 bytes). A broker that gives an alias to a longer topic
    /// ends the connection with a protocol error: raise it when incoming aliases are on and topics are longer.
    pub fn topic_alias_len(mut self, bytes: u16) -> Self {
        self.topic_alias_len = bytes;
        self
    }

    /// Whether each 5.0 SUBSCRIBE carries a Subscription Identifier chosen by the client (default `true`), so
    /// that a message matching several subscriptions reaches each once. Some brokers mishandle them: with `false`
    /// routing goes by the filters alone. A [`SubscribeRequest`](crate::client::SubscribeRequest) may still choose one.
    ///
    /// With `false`, a shared subscription (`$share/group/filter`) and a plain one whose filters overlap each get
    /// every copy the broker sends for either (the broker sends one per matching subscription, and nothing in a
    /// copy says which one it is for): keep the default where they overlap.
    pub fn subscription_ids(mut self, automatic: bool) -> Self {
        self.subscription_ids = automatic;
        self
    }

    /// Whether the client follows a 5.0 broker's redirection: a CONNACK refusal or a DISCONNECT with Use Another
    /// Server (`0x9C`) or Server Moved (`0x9D`) and a Server Reference (`host`, `host:port` or a URL) moves the
    /// next connection to that server, at once. Default `true`: the reference is opened with the scheme, TLS
    /// settings and credentials of the current broker, and never from TLS to plain TCP (a reference naming
    /// `mqtt://` or `ws://` after `mqtts://` or `wss://` is not followed). See
    /// [`Config::follow_redirects`](crate::Config::follow_redirects).
    pub fn follow_redirects(mut self, follow: bool) -> Self {
        self.follow_redirects = follow;
        self
    }

    /// Enhanced authentication (5.0 AUTH): every connection authenticates with a clone of `authenticator`, which
    /// gives the method, the initial data and the answers to the broker's challenges; see
    /// [`Authenticator`](crate::session::Authenticator). Re-authenticate with `Client::reauthenticate`. A
    /// client with an authenticator speaks 5.0 only (no fall back to 3.1.1).
    pub fn authenticator<A>(mut self, authenticator: A) -> Self
    where
        A: Authenticator + Clone + Send + Sync + 'static,
    {
        let method = authenticator.method().to_owned();
        let make: AuthFactory = Arc::new(move || Box::new(authenticator.clone()));
        self.authenticator = Some((method, make));
        self
    }
}
