//! The moto server (AWS API emulator) for tests: started on a free loopback port,
//! stopped when dropped. moto speaks the real AWS wire protocols, so it proves our
//! calls and parsing; it does not judge trust policies (its STS accepts any token).
//!
//! What moto lacks is answered in front of it: moto 5 has no
//! `ListPodIdentityAssociations` (it answers 404), so a proxy answers it with an empty
//! list, in the EKS API's shape (`{"associations": []}`, as
//! `aws eks list-pod-identity-associations` prints for a cluster without any); nor
//! `DescribeAddon`, answered as EKS answers a cluster without the add-on (404
//! `ResourceNotFoundException`, https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribeAddon.html).
//! Our tests read both with the official SDK client. (The testkit's `EksPodIdentity`
//! emulation, put in front of this, serves real associations and add-ons.)

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto server.
pub struct Moto {
    /// `http://127.0.0.1:PORT` (the proxy that completes moto).
    pub endpoint: String,
    child: Child,
    _front: Option<crate::FaultProxy>,
}

impl Moto {
    /// Starts `python3 -m moto.server` (installed by `.ci/run`); `None` when moto is
    /// not installed, so callers can say so instead of passing.
    pub fn start(account: &str) -> Option<Moto> {
        Moto::start_with(account, false)
    }

    /// [`Moto::start`] with moto's copy of the AWS managed policies loaded
    /// (`MOTO_IAM_LOAD_MANAGED_POLICIES=true`): roles can attach
    /// `arn:aws:iam::aws:policy/…` (AmazonEKSWorkerNodePolicy on a node role), and
    /// `get-policy`/`get-policy-version` answer with their documents. Off by default: it
    /// slows moto's IAM start by seconds.
    pub fn start_with_aws_managed_policies(account: &str) -> Option<Moto> {
        Moto::start_with(account, true)
    }

    fn start_with(account: &str, aws_managed_policies: bool) -> Option<Moto> {
        let port = TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .env("MOTO_ACCOUNT_ID", account)
            .env(
                "MOTO_IAM_LOAD_MANAGED_POLICIES",
                if aws_managed_policies {
                    "true"
                } else {
                    "false"
                },
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut m = Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            child,
            _front: None,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                let front = crate::FaultProxy::start(
                    &m.endpoint,
                    None,
                    vec![
                        crate::FaultRule::new(
                            "/pod-identity-associations",
                            crate::When::Always,
                            crate::Fault::Respond {
                                status: 200,
                                headers: vec![("content-type".into(), "application/json".into())],
                                body: "{\"associations\": []}".into(),
                            },
                        ),
                        crate::FaultRule::new(
                            "/addons/",
                            crate::When::Always,
                            crate::Fault::aws_json_error(
                                404,
                                "ResourceNotFoundException",
                                "No addon: eks-pod-identity-agent found in cluster",
                            ),
                        ),
                    ],
                );
                m.endpoint = front.url.clone();
                m._front = Some(front);
                return Some(m);
            }
            if let Ok(Some(_)) = m.child.try_wait() {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = m.child.kill();
        None
    }

    /// From now on, every request must be signed by an IAM user whose policies allow it.
    pub fn enforce_iam_auth(&self) {
        let addr = self.endpoint.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(addr).expect("moto reachable");
        use std::io::{Read, Write};
        write!(
            stream,
            "POST /moto-api/reset-auth HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 1\r\nConnection: close\r\n\r\n0"
        )
        .expect("request");
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        assert!(
            response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.0 200"),
            "reset-auth: {response}"
        );
    }

    /// Environment for a process that should talk to this moto.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("AWS_CONFIG_FILE", "/dev/null".into()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
        ]
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
