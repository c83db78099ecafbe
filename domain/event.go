package domain

import "time"

// Event names of the WebSocket wire contract.
const (
	EventRegistered            = "registered"
	EventChatRegistered        = "chatRegistered"
	EventNewMessage            = "newMessage"
	EventTypingIndicator       = "typingIndicator"
	EventReadReceipt           = "readReceipt"
	EventNewFriendRequest      = "newFriendRequest"
	EventFriendRequestAccepted = "friendRequestAccepted"
	EventMessageDelivered      = "messageDelivered"
	EventError                 = "error"
	EventSendResult            = "sendResult"

	// The wire contract's second part.
	EventFriendRemoved  = "friendRemoved"
	EventMessageEdited  = "messageEdited"
	EventMessageDeleted = "messageDeleted"
	EventPresence       = "presence"
	// EventResync tells a device that its resume cursor of a conversation
	// was ahead of the store (a database restored from a backup, sequences
	// issued again after a crash, a client bug): it drops what it cached of
	// the conversation and takes LastSequenceID as its position, reading
	// older messages from history when it needs them.
	EventResync = "resync"

	// Events clients send.
	EventTyping   = "typing"
	EventJoinChat = "joinChat"
	EventResume   = "resume"
	EventAck      = "ack"
	EventSend     = "send"
)

// Event is one frame pushed to a user's devices: {"event": Name, "data": Data}.
// Data is one of the payload types below (or already-encoded JSON when an event
// crossed nodes); it must marshal to JSON.
type Event struct {
	Name string `json:"event"`
	Data any    `json:"data"`
}

// UserPayload is the data of registered, newFriendRequest and friendRequestAccepted.
type UserPayload struct {
	User User `json:"user"`
}

// UserIDPayload is the data of friendRemoved: the user who is no longer a
// friend.
type UserIDPayload struct {
	UserID UserID `json:"userId"`
}

// RegisteredPayload is the data of registered.
type RegisteredPayload struct {
	UserID UserID `json:"userId"`
}

// ConversationPayload is the data of chatRegistered.
type ConversationPayload struct {
	ConversationID ConversationID `json:"conversationId"`
}

// TypingPayload is the data of typingIndicator.
type TypingPayload struct {
	SenderID       UserID         `json:"senderId"`
	ConversationID ConversationID `json:"conversationId"`
	IsTyping       bool           `json:"isTyping"`
}

// ReadReceipt is the data of readReceipt: ReaderID has read the conversation up
// to and including UpTo.
type ReadReceipt struct {
	ConversationID ConversationID `json:"conversationId"`
	ReaderID       UserID         `json:"readerId"`
	UpTo           Sequence       `json:"upToSequenceId"`
	ReadAt         time.Time      `json:"readAt"`
}

// Watermark is the data of messageDelivered and of the ack and mark-read answers:
// everything in the conversation up to and including UpTo.
type Watermark struct {
	ConversationID ConversationID `json:"conversationId"`
	UpTo           Sequence       `json:"upToSequenceId"`
}

// ResyncPayload is the data of resync.
type ResyncPayload struct {
	ConversationID ConversationID `json:"conversationId"`
	LastSequenceID Sequence       `json:"lastSequenceId"`
}

// ErrorPayload is the data of error.
type ErrorPayload struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// NewMessageEvent wraps m as a newMessage event.
func NewMessageEvent(m Message) Event { return Event{Name: EventNewMessage, Data: m} }

// ErrorEvent describes err as an error event, with a client-safe message.
func ErrorEvent(err error) Event {
	return Event{Name: EventError, Data: ErrorPayload{Code: KindOf(err).String(), Message: MessageOf(err)}}
}
