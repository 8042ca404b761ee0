// Package mqtt is the MQTT v5 EventBridge, the transport of the edge deployment model. It
// speaks TypeScript PURISTA's MQTT wire format (docs/wire-format.md), so Go and TypeScript
// services on one broker call each other.
//
// # Topics and subscriptions
//
// Every message is published with QoS 1, retain false and content type application/json on
// the 13-level topic
// purista/<messageType>/<principal>/<tenant>/<sender instance, service, version,
// target>/<eventName>/<receiver instance, service, version, target> (snake-cased, "none" for
// an empty level; unlike PURISTA the empty sender target of service-level info messages is
// "none" too, and PURISTA's collapsed 12-level form is accepted when reading). Commands,
// events, info messages and success responses with an eventName carry the PURISTA header
// names as user properties. Other responses are point-to-point: they carry no user
// properties (a deviation from PURISTA, whose readers take the response and its trace
// context from the body), only content type, correlation data and expiry. A success
// response with an eventName is published once, in the event form: its topic carries the
// event name, so the caller's response subscription and the event subscriptions all
// receive it.
//
//   - Command handlers: shared subscription $share/<group>/purista/command/+/…/<svc>/<ver>/<target>.
//   - Responses: every instance subscribes (not shared) to
//     purista/+/+/+/+/+/+/+/+/<snake(instanceId)>/+/+/+; a response is routed by its
//     receiver-instance level and matched by correlation data (falling back to the body's
//     correlationId).
//   - Subscriptions: the 13-level pattern of the filter, shared unless EveryInstance.
//   - Dead letters: purista/deadletter/<svc>/<ver>/<target> (see RegisterSubscription).
//
// Subscription identifiers are a hash of the filter, the same in every process, so that
// the messages a resumed session delivers find their route again.
//
// Share groups: by default each subscription has its own group derived from the subscriber
// address ("purista_" + snake(svc) + "_" + snake(ver) + "_" + snake(target)); TypeScript PURISTA puts every shared subscription
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
// # Sessions, identity and durability
//
// The bridge keeps one MQTT connection (autopaho) with client id "purista-<instanceId>"
// and clean start false. What its session outlives depends on whether the instance has a
// stable identity, an instance id or client id given to it (PURISTA_INSTANCE_ID,
// WithInstanceID, WithClientID):
//
//   - Without one (a random instance id), the session expiry is
//     DefaultEphemeralSessionExpiry (30 s): a dropped connection that comes back within it
//     loses nothing. Close leaves every share group (UNSUBSCRIBE) and deletes the session
//     (DISCONNECT with expiry 0), so no session is left behind to take its turn of the
//     events and commands. A crashed process's session keeps its place in the share groups
//     until it expires: the events and commands the broker hands it meanwhile are lost.
//   - With one, the session expiry is DefaultSessionExpiry (1 h). Close keeps the session
//     when durable subscriptions are registered (only those stay subscribed in it): the
//     events for them queue while the process is down and are handled when a process with
//     the same identity starts within the expiry. Its commands, responses and other
//     subscriptions leave the session at Close.
//
// Messages that a resumed session delivers before the service has registered the
// handler they are for are held until it registers (see WithRegistrationWait); a message
// is never acknowledged before its handler exists, and one whose registration does not
// come within the wait is dead-lettered with the reason. Health reports bridge.ErrUnavailable
// from the moment the connection drops until it is back and every subscription is
// re-established; every Invoke waiting for a response then fails at once with
// bridge.ErrUnavailable.
//
// On plain TCP and TLS the bridge dials the broker itself, to set TCP_QUICKACK on the
// socket (see QuickAck); paho reads and writes its packets unchanged.
//
// # Delivery guarantees
//
// Commands: at most once per attempt; their PUBACK is sent on receipt. Unknown commands
// cannot fail fast (MQTT has no "no responders"): they end with bridge.ErrTimeout. A
// command that cannot be decoded is answered at once with a handled 400
// (bridge.RejectResponse); one that arrives while the bridge closes, with an unhandled 503.
// When Close's deadline passes, every command still unanswered is answered 503 before
// the bridge disconnects.
// Subscriptions: at least once. MQTT has no negative acknowledgement, so the bridge
// implements the RetryPolicy itself: a failed delivery is retried in process with
// backoff; the message is acknowledged once the retry is scheduled, so the pending retry
// lives in the process (as on the memory bridge and NATS core). Close waits for pending
// retries; a forced stop dead-letters those it cuts off, with the reason; a process that
// dies with a retry pending loses it. After the last attempt the message is published to
// the dead-letter topic (QoS 1, confirmed) and then acknowledged; a message that cannot be
// decoded is dead-lettered at once, with the reason. PUBACKs are sent in the order
// messages arrived (paho acknowledges in order), so the bridge never leaves a message
// unacknowledged on a live connection for long: that would hold back the PUBACKs of all
// later ones and, once the broker's in-flight window is full, stop its deliveries. A
// message held for a registration that does not come is therefore dead-lettered after
// the registration wait (see WithRegistrationWait).
package mqtt
