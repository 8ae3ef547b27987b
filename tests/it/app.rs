//! A local application for deploy tests that need to hold a deploy at a chosen moment:
//! a real HTTP server (tiny_http, one thread per request) with a maintenance switch,
//! endpoints that stall until the test releases them, a webhook sink, and a record of
//! every maintenance switch (overlapping "on" periods are counted, for parallel deploys).

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

#[derive(Default)]
struct State {
    /// The stall point armed: a request that reaches it blocks until `release`.
    armed: Option<String>,
    reached: Vec<String>,
    released: bool,
    maintenance: bool,
    /// Times maintenance was switched on while it already was (two runs at once).
    overlaps: usize,
    switches: Vec<String>,
    hooks: Vec<Value>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

/// The application; its server thread ends with the test process.
pub struct App {
    pub base: String,
    shared: Arc<Shared>,
}

/// How long a stalled request waits for `release` before answering anyway.
const STALL_LIMIT: Duration = Duration::from_secs(120);

impl App {
    /// `switch_delay` slows every maintenance switch, so two runs switching at once would
    /// overlap.
    pub fn start(switch_delay: Duration) -> App {
        let server = tiny_http::Server::http("127.0.0.1:0").expect("bind a local port");
        let base = format!("http://{}", server.server_addr().to_ip().unwrap());
        let shared: Arc<Shared> = Arc::default();
        let s = Arc::clone(&shared);
        std::thread::spawn(move || {
            for req in server.incoming_requests() {
                let s = Arc::clone(&s);
                std::thread::spawn(move || handle(&s, req, switch_delay));
            }
        });
        App { base, shared }
    }

    /// Make the next request to stall point `name` block until `release`.
    pub fn arm(&self, name: &str) {
        let mut st = self.shared.state.lock().unwrap();
        st.armed = Some(name.to_string());
        st.released = false;
    }

    /// Wait until a request reached the armed stall point.
    pub fn wait_reached(&self, name: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut st = self.shared.state.lock().unwrap();
        while !st.reached.iter().any(|r| r == name) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "nothing reached the stall point {name}");
            st = self.shared.changed.wait_timeout(st, left).unwrap().0;
        }
    }

    /// Let stalled requests answer, and disarm.
    pub fn release(&self) {
        let mut st = self.shared.state.lock().unwrap();
        st.released = true;
        st.armed = None;
        self.shared.changed.notify_all();
    }

    pub fn maintenance(&self) -> bool {
        self.shared.state.lock().unwrap().maintenance
    }

    pub fn overlaps(&self) -> usize {
        self.shared.state.lock().unwrap().overlaps
    }

    /// "on" and "off", in the order the switches arrived.
    pub fn switches(&self) -> Vec<String> {
        self.shared.state.lock().unwrap().switches.clone()
    }

    /// Every webhook payload received.
    pub fn hooks(&self) -> Vec<Value> {
        self.shared.state.lock().unwrap().hooks.clone()
    }

    /// The `event` of every webhook received.
    pub fn events(&self) -> Vec<String> {
        self.hooks()
            .iter()
            .map(|h| h["event"].as_str().unwrap_or("?").to_string())
            .collect()
    }
}

fn handle(s: &Shared, mut req: tiny_http::Request, switch_delay: Duration) {
    let path = req.url().to_string();
    let mut body = String::new();
    let _ = req.as_reader().read_to_string(&mut body);
    let status = match path.as_str() {
        "/maintenance/on" => {
            {
                let mut st = s.state.lock().unwrap();
                if st.maintenance {
                    st.overlaps += 1;
                }
                st.maintenance = true;
                st.switches.push("on".into());
            }
            std::thread::sleep(switch_delay);
            stall(s, "maintenance-on");
            200
        }
        "/maintenance/off" => {
            // A stalled switch never takes effect: the run killed here left maintenance on.
            if stall(s, "maintenance-off") {
                return;
            }
            std::thread::sleep(switch_delay);
            let mut st = s.state.lock().unwrap();
            st.maintenance = false;
            st.switches.push("off".into());
            200
        }
        "/health" if s.state.lock().unwrap().maintenance => 503,
        "/health" => 200,
        "/hook" => {
            let payload = serde_json::from_str(&body).unwrap_or(Value::Null);
            s.state.lock().unwrap().hooks.push(payload);
            200
        }
        p if p.starts_with("/stall/") => {
            stall(s, &p["/stall/".len()..]);
            200
        }
        _ => 500,
    };
    let _ = req.respond(tiny_http::Response::from_string("ok").with_status_code(status));
}

/// Block while `name` is armed and not released; whether it did.
fn stall(s: &Shared, name: &str) -> bool {
    let mut st = s.state.lock().unwrap();
    if st.armed.as_deref() != Some(name) || st.released {
        return false;
    }
    st.reached.push(name.to_string());
    s.changed.notify_all();
    let deadline = Instant::now() + STALL_LIMIT;
    while !st.released {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        st = s.changed.wait_timeout(st, left).unwrap().0;
    }
    true
}
