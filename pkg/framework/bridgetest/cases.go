package bridgetest

import (
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"
)

// Cases returns the bridge-level conformance cases, in a stable order.
func Cases() []Case {
	cs := []Case{
		{"NameAndInstanceID", caseNameAndInstanceID},
		{"HealthTransitions", caseHealthTransitions},
		{"HealthDisrupted", caseHealthDisrupted},
		{"StartTwiceCloseTwice", caseStartTwiceCloseTwice},
		{"CloseWithoutStart", caseCloseWithoutStart},
		{"NotStartedErrors", caseNotStartedErrors},
		{"RegisterBeforeStart", caseRegisterBeforeStart},
		{"InvokeSuccess", caseInvokeSuccess},
		{"InvokeSameInstance", caseInvokeSameInstance},
		{"InvokeHandledError", caseInvokeHandledError},
		{"InvokeUnhandledError", caseInvokeUnhandledError},
		{"InvokeNilResponseIsUnhandled500", caseInvokeNilResponse},
		{"InvokeUnknownCommand", caseInvokeUnknownCommand},
		{"InvokeTimeout", caseInvokeTimeout},
		{"InvokeCallerContextCancelled", caseInvokeCallerCancelled},
		{"InvokeConcurrent1000", caseInvokeConcurrent},
		{"InvokeLoadShared", caseInvokeLoadShared},
		{"InvokeMetadataPropagates", caseInvokeMetadata},
		{"InvokeLargePayload", caseInvokeLargePayload},
		{"MessagesAreCopies", caseMessagesAreCopies},
		{"InvokeAfterClose", caseInvokeAfterClose},
		{"EmitAfterClose", caseEmitAfterClose},
		{"RegisterAfterClose", caseRegisterAfterClose},
		{"InvalidOutgoingRejected", caseInvalidOutgoing},
		{"DuplicateCommand", caseDuplicateCommand},
		{"DuplicateSubscription", caseDuplicateSubscription},
		{"UnregisterCommand", caseUnregisterCommand},
		{"UnregisterSubscription", caseUnregisterSubscription},
		{"EmitNoSubscribers", caseEmitNoSubscribers},
		{"EmitDoesNotWaitForHandlers", caseEmitAsync},
		{"EmitSameInstance", caseEmitSameInstance},
		{"EveryInstanceSubscription", caseEveryInstance},
		{"SharedSubscription", caseShared},
		{"LargeFanOut", caseLargeFanOut},
		{"ConcurrentEmit", caseConcurrentEmit},
		{"CommandsNotDeliveredToSubscriptions", caseCommandsNotDelivered},
		{"CommandSubscription", caseCommandSubscription},
		{"SuccessResponseEventReachesSubscribers", caseResponseEvent},
	}
	cs = append(cs, filterCases()...)
	cs = append(cs, frameworkCases()...)
	cs = append(cs, []Case{
		{"RetryThenDeadLetter", caseRetryThenDeadLetter},
		{"DeadLetterObservedByOtherInstance", caseDeadLetterOtherInstance},
		{"RedeliveryAfterFailure", caseRedelivery},
		{"RetryImmediatePolicy", caseRetryPolicy(bridge.RetryPolicy{MaxAttempts: 4, Backoff: bridge.BackoffImmediate}, 4)},
		{"RetryExponentialPolicy", caseRetryPolicy(bridge.RetryPolicy{MaxAttempts: 4, Backoff: bridge.BackoffExponential,
			InitialInterval: 5 * time.Millisecond, MaxInterval: 40 * time.Millisecond}, 4)},
		{"RetryDefaultMaxAttempts", caseRetryPolicy(bridge.RetryPolicy{Backoff: bridge.BackoffExponential,
			InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond}, bridge.DefaultMaxAttempts)},
		{"DrainCompletesInFlightCommand", caseDrainCommand},
		{"DrainCompletesInFlightEvent", caseDrainEvent},
		{"CloseDeadlineCancelsStuckHandler", caseCloseDeadline},
		{"DrainRefusesNewCommandsAt503", caseDrainRefuses},
		{"ForcedStopAnswersEveryCaller503", caseForcedStop(false)},
		{"ForcedStopAnswers503WhenHandlerIgnoresContext", caseForcedStop(true)},
		{"ClosedInstanceReceivesNothing", caseClosedInstanceReceivesNothing},
		{"GarbageNeverCrashes", caseGarbage},
		{"DurableSubscription", caseDurable},
		{"CredentialsNeverShown", caseCredentialsNeverShown},
	}...)
	return cs
}
