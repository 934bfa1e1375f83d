//! `subscriptions/listen` emulated for a 2026-07-28 client on a session the bridge holds
//! with a stateful server. The server's change notifications arrive as plain session
//! notifications (on the GET stream or any reply stream); each goes to every listen whose
//! filter asks for it, stamped with that listen's `subscriptionId`, and nowhere else: the
//! revision forbids sending a notification type the client did not ask for.

use super::Router;
use crate::jsonrpc::Id;
use crate::sync::lock_ignoring_poison;
use bytes::Bytes;
use serde_json::{Value, json};
use std::sync::atomic::Ordering;

/// What one listen asked for and the server can deliver (the acknowledged filter).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// `notifications/tools/list_changed`.
    pub tools: bool,
    /// `notifications/prompts/list_changed`.
    pub prompts: bool,
    /// `notifications/resources/list_changed`.
    pub resources: bool,
    /// `notifications/resources/updated` for these URIs.
    pub uris: Vec<String>,
}

impl Filter {
    /// The part of the client's `notifications` filter that the stateful server's
    /// `initialize` capabilities can serve. A list's changes are agreed whenever the server
    /// has that list, `listChanged` or not: stateful servers send them unannounced (the
    /// official Python SDK's `MCPServer` does, with `listChanged: false`), and the session
    /// delivers them anyway. Resource updates need `resources.subscribe`.
    pub fn agreed(requested: &Value, capabilities: &Value) -> Filter {
        let asked = |k: &str| requested.get(k).and_then(Value::as_bool) == Some(true);
        let has = |cap: &str| capabilities.get(cap).is_some_and(Value::is_object);
        let offers = |cap: &str, flag: &str| {
            capabilities
                .pointer(&format!("/{cap}/{flag}"))
                .and_then(Value::as_bool)
                == Some(true)
        };
        let uris = if offers("resources", "subscribe") {
            requested
                .get("resourceSubscriptions")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|u| u.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        Filter {
            tools: asked("toolsListChanged") && has("tools"),
            prompts: asked("promptsListChanged") && has("prompts"),
            resources: asked("resourcesListChanged") && has("resources"),
            uris,
        }
    }

    /// The filter as the acknowledgement's `notifications` member.
    fn to_json(&self) -> Value {
        let mut v = json!({});
        for (flag, key) in [
            (self.tools, "toolsListChanged"),
            (self.prompts, "promptsListChanged"),
            (self.resources, "resourcesListChanged"),
        ] {
            if flag {
                v[key] = Value::Bool(true);
            }
        }
        if !self.uris.is_empty() {
            v["resourceSubscriptions"] = json!(self.uris);
        }
        v
    }

    fn wants(&self, method: &str, uri: Option<&str>) -> bool {
        match method {
            "notifications/tools/list_changed" => self.tools,
            "notifications/prompts/list_changed" => self.prompts,
            "notifications/resources/list_changed" => self.resources,
            "notifications/resources/updated" => {
                uri.is_some_and(|u| self.uris.iter().any(|w| w == u))
            }
            _ => false,
        }
    }
}

/// The change notifications a listen carries.
const CHANGES: [&str; 4] = [
    "notifications/tools/list_changed",
    "notifications/prompts/list_changed",
    "notifications/resources/list_changed",
    "notifications/resources/updated",
];

impl Router {
    /// Opens an emulated listen `id` with the agreed `filter`, acknowledging it to the
    /// client; returns the URIs that no other listen had subscribed to yet (the caller
    /// sends `resources/subscribe` for them).
    pub async fn open_listen(&self, id: &Id, filter: Filter) -> Vec<String> {
        let new_uris = {
            let mut listens = lock_ignoring_poison(&self.listens);
            let fresh = filter
                .uris
                .iter()
                .filter(|u| !listens.values().any(|(_, f)| f.uris.contains(u)))
                .cloned()
                .collect();
            listens.insert(id.key().into(), (id.clone(), filter.clone()));
            fresh
        };
        let ack = json!({
            "jsonrpc": "2.0",
            "method": "notifications/subscriptions/acknowledged",
            "params": {"_meta": {"io.modelcontextprotocol/subscriptionId": id_value(id)},
                       "notifications": filter.to_json()}
        });
        tracing::debug!(
            "subscriptions/listen {} emulated: {}",
            id.raw(),
            ack["params"]
        );
        self.write(Bytes::from(ack.to_string())).await;
        new_uris
    }

    /// Ends the emulated listen `id` (the client cancelled it); `None` when `id` is none,
    /// else the URIs no remaining listen needs (the caller unsubscribes them).
    pub fn close_listen(&self, id: &Id) -> Option<Vec<String>> {
        let mut listens = lock_ignoring_poison(&self.listens);
        let (_, filter) = listens.remove(id.key())?;
        Some(
            filter
                .uris
                .into_iter()
                .filter(|u| !listens.values().any(|(_, f)| f.uris.contains(u)))
                .collect(),
        )
    }

    /// For a downgraded client: a change notification goes to each listen that asked for
    /// it, with its `subscriptionId`, and is dropped when none did. `None` for any other
    /// message, which takes the usual way.
    pub(super) fn fan_out(&self, method: &str, raw: &[u8]) -> Option<Vec<Bytes>> {
        if !self.downgraded.load(Ordering::Relaxed) || !CHANGES.contains(&method) {
            return None;
        }
        let note: Value = serde_json::from_slice(raw).ok()?;
        let uri = note.pointer("/params/uri").and_then(Value::as_str);
        let copies = lock_ignoring_poison(&self.listens)
            .values()
            .filter(|(_, f)| f.wants(method, uri))
            .map(|(id, _)| {
                let mut copy = note.clone();
                if !copy["params"].is_object() {
                    copy["params"] = json!({});
                }
                copy["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] = id_value(id);
                Bytes::from(copy.to_string())
            })
            .collect::<Vec<_>>();
        if copies.is_empty() {
            tracing::debug!("dropping {method}: no subscriptions/listen of the client asks for it");
        }
        Some(copies)
    }
}

fn id_value(id: &Id) -> Value {
    serde_json::from_str(id.raw()).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agreed_filter_is_what_both_sides_have() {
        let asked = json!({"toolsListChanged": true, "promptsListChanged": true,
            "resourceSubscriptions": ["file:///a"]});
        let caps = json!({"tools": {"listChanged": false}, "resources": {"subscribe": true}});
        let f = Filter::agreed(&asked, &caps);
        assert_eq!(
            f,
            Filter {
                tools: true,
                prompts: false,
                resources: false,
                uris: vec!["file:///a".into()]
            }
        );
        assert_eq!(
            f.to_json(),
            json!({"toolsListChanged": true, "resourceSubscriptions": ["file:///a"]})
        );
        assert!(f.wants("notifications/resources/updated", Some("file:///a")));
        assert!(!f.wants("notifications/resources/updated", Some("file:///b")));
        let none = Filter::agreed(&asked, &json!({"resources": {}}));
        assert!(none.uris.is_empty() && !none.tools);
    }
}
