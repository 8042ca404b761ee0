// Package transport holds the behaviour every event bridge shares, so that a bridge is a
// thin adapter between bridge.EventBridge and one client library: the common options
// (Options), the table of a bridge instance's registrations (Table), the local
// short-circuit of commands (Local), the in-process scheduling of redeliveries and the
// retry-or-dead-letter decision (Retries, Next), and the panic-recovering calls of
// subscription and dead-letter handlers (CallSubscription, CallDeadLetter) with the
// dead-letter observer rule (ObservesDeadLetter), the tokens of a subscription filter
// (FilterTokens) and what an undecodable command still tells for its 400 answer
// (RecoverCommand). Command handler panics are recovered by
// lifecycle.Lifecycle.CallCommand, which Local uses.
//
// What stays in a bridge is what its transport decides: how a message is named, routed,
// acknowledged, stored and redelivered by the broker, and how dead letters are carried
// (headers, properties, queues). Nothing here starts a goroutine that outlives the call
// that started it without a way to stop it: Local's handler goroutines end with the
// handler and count in the bridge's work gate; Retries' timers end on Stop.
package transport
