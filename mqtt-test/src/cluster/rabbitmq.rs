//! [`RabbitMq`]: a RabbitMQ 3.10 cluster with the MQTT plugin (MQTT 3.1.1), persistent sessions in quorum queues.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tempfile::TempDir;

use super::erlang::{Erlang, Ground, Node, wait_clustered};
use super::{ClusterError, io_error};

/// How long one node may take from its start until its MQTT listener answers (two cores, a busy machine).
pub const RABBITMQ_NODE_START: Duration = Duration::from_secs(150);

/// Where the Debian package puts the server's own scripts (`rabbitmq-server` runs the broker in the foreground
/// as the calling user; the `/usr/sbin` wrapper would switch to the service's user).
const SCRIPTS_GLOB_PARENT: &str = "/usr/lib/rabbitmq/lib";

/// A RabbitMQ cluster on loopback. See the [module docs](super).
///
/// ```no_run
/// use mqtt_test::cluster::RabbitMq;
///
/// let mut cluster = RabbitMq::start(3)?;
/// println!("{:?}", cluster.urls()); // mqtt://127.0.0.1:PORT, one per node
/// cluster.node_mut(0).kill();
/// # Ok::<(), mqtt_test::cluster::ClusterError>(())
/// ```
#[derive(Debug)]
pub struct RabbitMq {
    // Fields drop in order: the nodes, then epmd, then the temp dir.
    nodes: Vec<Node>,
    erlang: Erlang,
    dir: TempDir,
}

impl RabbitMq {
    /// Starts `nodes` nodes (at least 1) and waits until every MQTT listener answers a CONNECT and every node is
    /// in the cluster: the first node alone, then the others together, each joining the first as it boots. Each
    /// node has `mqtt.durable_queue_type = quorum`, anonymous MQTT (the `guest` user, on loopback), no AMQP
    /// listener.
    ///
    /// # Errors
    ///
    /// [`ClusterError::NotInstalled`] without the `rabbitmq-server` package; [`ClusterError::Exited`] or
    /// [`ClusterError::Timeout`] (after [`RABBITMQ_NODE_START`] per node) with the node's log when it does not
    /// come up or does not join.
    pub fn start(nodes: usize) -> Result<Self, ClusterError> {
        let nodes = nodes.max(1);
        let sbin = server_scripts()?;
        let Ground {
            dir,
            erlang,
            epmd_port,
            ports,
        } = Ground::prepare("mqtt-test-rabbitmq-", nodes)?;
        let names: Vec<String> = (1..=nodes)
            .map(|i| format!("rabbit{i}-{epmd_port}@localhost"))
            .collect();
        let mut cluster = Self {
            nodes: Vec::new(),
            erlang,
            dir,
        };
        let first = names.first().cloned().unwrap_or_default();
        for (i, (name, &(mqtt, dist))) in names.iter().zip(&ports).enumerate() {
            let seed = (i > 0).then_some(first.as_str());
            let node = cluster.spawn(&sbin, name, mqtt, dist, seed)?;
            cluster.nodes.push(node);
            if i == 0 {
                // The others join the first while they boot: it must be up.
                cluster.wait_answers(0)?;
            }
        }
        for i in 1..nodes {
            cluster.wait_answers(i)?;
        }
        cluster.wait_clustered()?;
        Ok(cluster)
    }

    /// The nodes that node `from` sees running in the cluster (`rabbit_nodes:all_running()`), sorted.
    ///
    /// # Errors
    ///
    /// [`ClusterError::Command`] or [`ClusterError::Timeout`] when the node does not answer in 20 s.
    pub fn running_nodes(&self, from: usize) -> Result<Vec<String>, ClusterError> {
        let node = self.nodes.get(from).map(Node::name).unwrap_or_default();
        let output = self.erlang.rpc(
            node,
            "lists:sort(rabbit_nodes:all_running())",
            &[],
            Duration::from_secs(20),
        )?;
        Ok(node_names(&output))
    }

    fn spawn(
        &self,
        sbin: &Path,
        name: &str,
        mqtt: u16,
        dist: u16,
        seed: Option<&str>,
    ) -> Result<Node, ClusterError> {
        let node_dir = self.dir.path().join(name.split('@').next().unwrap_or(name));
        fs::create_dir_all(&node_dir).map_err(io_error("creating a node's dir"))?;
        let mut conf = format!(
            "listeners.tcp = none\n\
             mqtt.listeners.tcp.default = 127.0.0.1:{mqtt}\n\
             mqtt.allow_anonymous = true\n\
             mqtt.durable_queue_type = quorum\n\
             log.console = true\n\
             log.console.level = info\n\
             log.file = false\n"
        );
        if let Some(seed) = seed {
            conf.push_str(&format!(
                "cluster_formation.peer_discovery_backend = classic_config\n\
                 cluster_formation.classic_config.nodes.1 = {seed}\n"
            ));
        }
        let file = |leaf: &str| node_dir.join(leaf);
        write(&file("rabbitmq.conf"), &conf)?;
        write(&file("enabled_plugins"), "[rabbitmq_mqtt].\n")?;
        write(&file("rabbitmq-env.conf"), "")?;
        let mut command = self
            .erlang
            .command(&sbin.join("rabbitmq-server"), &node_dir);
        let path = |leaf: &str| file(leaf).into_os_string();
        command
            .env("RABBITMQ_CONF_ENV_FILE", path("rabbitmq-env.conf"))
            .env("RABBITMQ_NODENAME", name)
            .env("RABBITMQ_CONFIG_FILE", path("rabbitmq.conf"))
            .env("RABBITMQ_ADVANCED_CONFIG_FILE", path("advanced.config"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", path("enabled_plugins"))
            .env("RABBITMQ_MNESIA_BASE", path("mnesia"))
            .env("RABBITMQ_LOG_BASE", path("log"))
            .env("RABBITMQ_PID_FILE", path("pid"))
            .env("RABBITMQ_DIST_PORT", dist.to_string())
            // The script then runs the VM in place of itself (the child's PID is the VM's), and without an
            // Erlang shell on standard input.
            .env("RABBITMQ_ALLOW_INPUT", "1")
            .env(
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS",
                "-noinput -kernel inet_dist_use_interface {127,0,0,1}",
            );
        Node::spawn(name.to_owned(), mqtt, file("output.log"), command)
    }

    fn wait_answers(&mut self, i: usize) -> Result<(), ClusterError> {
        self.nodes[i].wait_answers(RABBITMQ_NODE_START, None)
    }

    fn wait_clustered(&self) -> Result<(), ClusterError> {
        wait_clustered(&self.nodes, "running", Duration::from_secs(60), || {
            self.running_nodes(0)
        })
    }
}

node_accessors!(RabbitMq);

/// `/usr/lib/rabbitmq/lib/rabbitmq_server-VERSION/sbin`.
fn server_scripts() -> Result<PathBuf, ClusterError> {
    let missing = || ClusterError::NotInstalled {
        program: format!("{SCRIPTS_GLOB_PARENT}/rabbitmq_server-*/sbin/rabbitmq-server"),
        package: "rabbitmq-server",
    };
    let entries = fs::read_dir(SCRIPTS_GLOB_PARENT).map_err(|_| missing())?;
    entries
        .filter_map(Result::ok)
        .map(|entry| entry.path().join("sbin"))
        .find(|sbin| sbin.join("rabbitmq-server").is_file())
        .ok_or_else(missing)
}

fn write(path: &Path, contents: &str) -> Result<(), ClusterError> {
    fs::write(path, contents).map_err(io_error(format!("writing {}", path.display())))
}

/// The node names in an Erlang term such as `['a@localhost','b@localhost']`.
pub(crate) fn node_names(term: &str) -> Vec<String> {
    term.split(|c: char| c == '\'' || c == '[' || c == ']' || c == ',' || c.is_whitespace())
        .filter(|part| part.contains('@'))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_are_read_from_an_erlang_list() {
        assert_eq!(
            node_names("['rabbit1-5@localhost',\n 'rabbit2-5@localhost']\n"),
            ["rabbit1-5@localhost", "rabbit2-5@localhost"]
        );
        assert!(node_names("{badrpc,nodedown}\n").is_empty());
    }
}
