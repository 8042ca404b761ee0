// Package mqtt is the MQTT v5 EventBridge, the transport of the edge deployment model. It
// speaks TypeScript PURISTA's MQTT wire format (docs/wire-format.md), so Go and TypeScript
// services on one broker call each other.
//
// # Topics and subscriptions
//
// Every message is published with QoS 1, retain false, content type application/json and
// the PURISTA header names as user properties, on the 13-level topic
// purista/<messageType>/<principal>/<tenant>/<sender instance, service, version,
// target>/<eventName>/<receiver instance, service, version, target> (snake-cased, "none" for
// an empty level; unlike PURISTA the empty sender target of service-level info messages is
// "none" too, and PURISTA's collapsed 12-level form is accepted when reading).
//
//   - Command handlers: shared subscription $share/<group>/purista/command/+/…/<svc>/<ver>/<target>.
//   - Responses: every instance subscribes (not shared) to
//     purista/+/+/+/+/+/+/+/+/<snake(instanceId)>/+/+/+; a response is routed by its
//     receiver-instance level and matched by correlation data (falling back to the body's
//     correlationId).
//   - Subscriptions: the 13-level pattern of the filter, shared unless EveryInstance.
//   - Dead letters: purista/deadletter/<svc>/<ver>/<target> (see RegisterSubscription).
//
// Share groups: by default each subscription has its own group derived from the subscriber
// address ("p_" + snake(svc_ver_target)); TypeScript PURISTA puts every shared subscription
// in the single group "sharedpurista", so two services subscribing with the same filter split
// the messages. WithPuristaShareName(true) restores PURISTA's group for interoperation with
// TypeScript instances of the same service.
//
// Commands carry correlationData (the correlationId) and messageExpiryInterval = the invoke
// timeout in seconds (rounded up); responses carry the same correlationData and an expiry
// of the remaining timeout in seconds, success responses with an eventName (which are also
// events) and other events the event expiry (WithEventExpiry, 30 days). PURISTA mixes
// units here (30000 s and 2592 s for a 30 s timeout); purista uses seconds throughout.
//
// # Session, reconnects and health
//
// The bridge keeps one MQTT connection (autopaho) with client id "purista-<instanceId>",
// clean start false and a session expiry (WithSessionExpiry, 1h), so a dropped connection
// that comes back within the expiry loses no QoS 1 message in either direction. Health
// reports bridge.ErrUnavailable from the moment the connection drops until it is back and
// every subscription is re-established. Close deletes the session (DISCONNECT with expiry
// 0) unless durable subscriptions are still registered.
//
// On plain TCP (mqtt://, tcp://) the bridge dials the broker itself (see QuickAck): reads
// are buffered and writes batched, and the user properties that carry PURISTA headers are
// dropped from received messages before paho parses them, since the bridge reads every
// message from its body. Other user properties (the dead-letter ones) are kept.
//
// # Delivery guarantees
//
// Commands: at most once per attempt; their PUBACK is sent on receipt. Unknown commands
// cannot fail fast (MQTT has no "no responders"): they end with bridge.ErrTimeout.
// Subscriptions: at least once. MQTT has no negative acknowledgement, so the bridge
// implements the RetryPolicy itself: a failed delivery is retried in process with backoff
// while the message's PUBACK is withheld; after the last attempt the message is published
// to the dead-letter topic (QoS 1, confirmed) and only then acknowledged. If the process
// dies or the connection drops while a message is being retried, the broker redelivers it
// from the session (after a reconnect, or to a restarted process with the same client id),
// and the attempt count starts again. PUBACKs are sent in the order messages arrived
// (MQTT requires it), so a message held for retries delays the PUBACKs of later ones; it
// does not delay their handling.
package mqtt
