//! [`Ejabberd`]: an ejabberd 23.01 cluster with `mod_mqtt` (MQTT 5.0 and 3.1.1).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tempfile::TempDir;

use super::erlang::{Erlang, Ground, Node, run, wait_clustered};
use super::rabbitmq::node_names;
use super::{ClusterError, io_error};

/// The user name the clients give (any works: the harness enables anonymous login, which wants one).
pub const EJABBERD_USER: &str = "mqtt-test";
/// The password the clients give (any non-empty one works).
pub const EJABBERD_PASSWORD: &str = "secret";

/// How long a node may take to answer MQTT, and a join to complete.
pub const EJABBERD_NODE_START: Duration = Duration::from_secs(60);

/// An ejabberd cluster on loopback. See the [module docs](super).
///
/// Each node has one virtual host, `localhost`, anonymous login (clients give [`EJABBERD_USER`] and
/// [`EJABBERD_PASSWORD`]), and `mod_mqtt` with an unlimited queue per session (ejabberd keeps one message in
/// flight per session and queues the rest; its default limit of 5,000 ends a session that receives a burst).
///
/// ```no_run
/// use mqtt_test::cluster::Ejabberd;
///
/// let cluster = Ejabberd::start(2)?;
/// cluster.refuse_connections(0)?; // node 0 now answers CONNECT with "server unavailable"
/// # Ok::<(), mqtt_test::cluster::ClusterError>(())
/// ```
#[derive(Debug)]
pub struct Ejabberd {
    // Fields drop in order: the nodes, then epmd, then the temp dir.
    nodes: Vec<Node>,
    erlang: Erlang,
    libs: PathBuf,
    dir: TempDir,
}

impl Ejabberd {
    /// Starts `nodes` nodes (at least 1) together, joins every other node to the first (`join_cluster`, which
    /// restarts the joining node's ejabberd), and waits until every MQTT listener answers and every node is in
    /// the cluster.
    ///
    /// # Errors
    ///
    /// [`ClusterError::NotInstalled`] without the `ejabberd` package; [`ClusterError::Exited`],
    /// [`ClusterError::Timeout`] or [`ClusterError::Command`] with the log when a node does not come up or join.
    pub fn start(nodes: usize) -> Result<Self, ClusterError> {
        let nodes = nodes.max(1);
        let libs = erlang_libs()?;
        let Ground {
            dir,
            erlang,
            epmd_port,
            ports,
        } = Ground::prepare("mqtt-test-ejabberd-", nodes)?;
        let mut cluster = Self {
            nodes: Vec::new(),
            erlang,
            libs,
            dir,
        };
        for (i, &(mqtt, dist)) in ports.iter().enumerate() {
            let name = format!("ejabberd{}-{epmd_port}@localhost", i + 1);
            let node = cluster.spawn(&name, mqtt, dist)?;
            cluster.nodes.push(node);
        }
        for i in 0..nodes {
            cluster.wait_answers(i)?;
        }
        let first = cluster.nodes[0].name().to_owned();
        for i in 1..nodes {
            let joining = cluster.nodes[i].name().to_owned();
            let command = cluster.erlang.tool(
                &[
                    "-s",
                    "ejabberd_ctl",
                    "-extra",
                    &joining,
                    "join_cluster",
                    &first,
                ],
                &cluster.env(),
            );
            run(
                command,
                &format!("ejabberdctl join_cluster {first} on {joining}"),
                EJABBERD_NODE_START,
            )?;
            cluster.wait_answers(i)?;
        }
        cluster.wait_clustered()?;
        Ok(cluster)
    }

    /// The nodes of the cluster as node `from` sees them (`ejabberd_cluster:get_nodes()`), sorted.
    ///
    /// # Errors
    ///
    /// [`ClusterError::Command`] or [`ClusterError::Timeout`] when the node does not answer in 20 s.
    pub fn cluster_nodes(&self, from: usize) -> Result<Vec<String>, ClusterError> {
        let node = self.nodes.get(from).map(Node::name).unwrap_or_default();
        let output = self.erlang.rpc(
            node,
            "lists:sort(ejabberd_cluster:get_nodes())",
            &self.env(),
            Duration::from_secs(20),
        )?;
        Ok(node_names(&output))
    }

    /// Takes node `i` out of service as an operator would: from now on it answers every CONNECT with "server
    /// unavailable" (3.1.1 return code 3, 5.0 reason `0x88`: `mod_mqtt` is stopped on it, its listener stays),
    /// and its MQTT connections are closed (their session processes end, without DISCONNECT). Returns how many
    /// connections it closed.
    ///
    /// # Errors
    ///
    /// [`ClusterError::Command`] or [`ClusterError::Timeout`] when the node does not answer in 20 s.
    pub fn refuse_connections(&self, i: usize) -> Result<usize, ClusterError> {
        let node = self.nodes.get(i).map(Node::name).unwrap_or_default();
        let expression = "ok = gen_mod:stop_module_keep_config(<<\"localhost\">>, mod_mqtt), \
             Sessions = [P || P <- erlang:processes(), \
                 case erlang:process_info(P, dictionary) of \
                     {dictionary, D} -> lists:member({'$initial_call', {mod_mqtt_session, init, 1}}, D); \
                     _ -> false \
                 end], \
             [exit(P, kill) || P <- Sessions], \
             length(Sessions)";
        let output = self
            .erlang
            .rpc(node, expression, &self.env(), Duration::from_secs(20))?;
        output.trim().parse().map_err(|_| ClusterError::Command {
            what: format!("taking {node} out of service"),
            output,
        })
    }

    fn env(&self) -> Vec<(&str, &str)> {
        vec![("ERL_LIBS", self.libs.to_str().unwrap_or_default())]
    }

    fn spawn(&self, name: &str, mqtt: u16, dist: u16) -> Result<Node, ClusterError> {
        let node_dir = self.dir.path().join(name.split('@').next().unwrap_or(name));
        let database = node_dir.join("database");
        fs::create_dir_all(&database).map_err(io_error("creating a node's dir"))?;
        let config = format!(
            "hosts:\n  - localhost\n\
             loglevel: info\n\
             auth_method: [anonymous]\n\
             anonymous_protocol: login_anon\n\
             allow_multiple_connections: true\n\
             listen:\n  -\n    port: {mqtt}\n    ip: \"127.0.0.1\"\n    module: mod_mqtt\n\
             modules:\n  mod_mqtt:\n    max_queue: unlimited\n"
        );
        let config_path = node_dir.join("ejabberd.yml");
        fs::write(&config_path, config).map_err(io_error("writing ejabberd.yml"))?;
        let mut command = self.erlang.command(self.erlang.erl(), &node_dir);
        command
            .env("ERL_LIBS", &self.libs)
            .env("EJABBERD_CONFIG_PATH", &config_path)
            .env("EJABBERD_LOG_PATH", node_dir.join("ejabberd.log"))
            .env("EJABBERD_PID_PATH", node_dir.join("pid"))
            .env("CONTRIB_MODULES_PATH", node_dir.join("contrib"))
            .env("CONTRIB_MODULES_CONF_DIR", node_dir.join("contrib-conf"))
            .args(["-sname", name, "+K", "true", "-noinput"])
            .args(["-kernel", "inet_dist_use_interface", "{127,0,0,1}"])
            .args(["inet_dist_listen_min", &dist.to_string()])
            .args(["inet_dist_listen_max", &dist.to_string()])
            .args(["-mnesia", "dir"])
            .arg(format!("\"{}\"", database.display()))
            .args(["-s", "ejabberd"]);
        Node::spawn(name.to_owned(), mqtt, node_dir.join("output.log"), command)
    }

    fn wait_answers(&mut self, i: usize) -> Result<(), ClusterError> {
        self.nodes[i].wait_answers(
            EJABBERD_NODE_START,
            Some((EJABBERD_USER, EJABBERD_PASSWORD)),
        )
    }

    fn wait_clustered(&self) -> Result<(), ClusterError> {
        wait_clustered(&self.nodes, "cluster", Duration::from_secs(30), || {
            self.cluster_nodes(0)
        })
    }
}

node_accessors!(Ejabberd);

/// The directory holding `ejabberd-VERSION/ebin/ejabberd.app` and its dependencies, for `ERL_LIBS`
/// (`/usr/lib/x86_64-linux-gnu` on Debian amd64).
fn erlang_libs() -> Result<PathBuf, ClusterError> {
    let has_ejabberd = |dir: &Path| {
        fs::read_dir(dir).is_ok_and(|entries| {
            entries.filter_map(Result::ok).any(|entry| {
                entry.file_name().to_string_lossy().starts_with("ejabberd-")
                    && entry.path().join("ebin/ejabberd.app").is_file()
            })
        })
    };
    let candidates = fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .chain([PathBuf::from("/usr/lib")]);
    for candidate in candidates {
        if candidate.is_dir() && has_ejabberd(&candidate) {
            return Ok(candidate);
        }
    }
    Err(ClusterError::NotInstalled {
        program: "/usr/lib/*/ejabberd-*/ebin/ejabberd.app".to_owned(),
        package: "ejabberd",
    })
}
