//! TCP and Redis checks. Redis is asked `PING` in its wire protocol (RESP) by hand: the
//! redis crate would bring a connection manager, async runtimes and cluster support to
//! send fourteen bytes and read seven.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::{Seen, deadline};

fn connect(address: &str, timeout: Duration) -> Result<TcpStream, String> {
    let addrs = address
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {address}: {e}"))?;
    let mut last = format!("{address} resolves to no address");
    for a in addrs {
        match TcpStream::connect_timeout(&a, deadline(timeout)) {
            Ok(s) => {
                let _ = s.set_read_timeout(Some(deadline(timeout)));
                let _ = s.set_write_timeout(Some(deadline(timeout)));
                return Ok(s);
            }
            Err(e) => last = format!("cannot connect to {a}: {e}"),
        }
    }
    Err(last)
}

pub(super) fn tcp(address: &str, timeout: Duration) -> Seen {
    match connect(address, timeout) {
        Ok(_) => Seen::judged(true, format!("{address} accepts connections")),
        Err(e) => Seen::failed(e),
    }
}

/// RESP: an array of bulk strings.
fn command(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    out
}

pub(super) fn redis(url: &str, timeout: Duration) -> Seen {
    match ping(url, timeout) {
        Ok(reply) if reply == "+PONG" => Seen::judged(true, "PONG"),
        Ok(reply) => Seen::failed(format!("Redis answered {reply}")),
        Err(e) => Seen::failed(e),
    }
}

fn ping(url: &str, timeout: Duration) -> Result<String, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("not a redis:// URL: {e}"))?;
    if parsed.scheme() != "redis" {
        return Err(format!(
            "{}:// is not supported; use redis://",
            parsed.scheme()
        ));
    }
    let host = parsed.host_str().unwrap_or("127.0.0.1");
    let port = parsed.port().unwrap_or(6379);
    let stream = connect(&format!("{host}:{port}"), timeout)?;
    let mut reader = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
    let mut w = stream;
    let mut ask = |args: &[&str]| -> Result<String, String> {
        w.write_all(&command(args))
            .map_err(|e| format!("cannot talk to Redis: {e}"))?;
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .map_err(|e| format!("no answer from Redis: {e}"))?;
        Ok(line.trim_end().to_string())
    };
    if let Some(pass) = parsed.password() {
        let user = parsed.username();
        let reply = if user.is_empty() {
            ask(&["AUTH", pass])?
        } else {
            ask(&["AUTH", user, pass])?
        };
        if !reply.starts_with("+OK") {
            return Err("Redis refused the credentials".into());
        }
    }
    ask(&["PING"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp_encoding() {
        assert_eq!(command(&["PING"]), b"*1\r\n$4\r\nPING\r\n");
        assert_eq!(
            command(&["AUTH", "pw"]),
            b"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n"
        );
    }
}
