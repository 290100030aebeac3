package userd

// Keys that a transaction passes to sqldb's Tx.Invalidate when it changes
// what processes keep in memory: who a request acts as, and the lists that
// many read.

// UserKey names a user: their row, their roles and all their sessions.
func UserKey(id string) string { return "u:" + id }

// SessionKey names one session.
func SessionKey(id string) string { return "s:" + id }

// OrgKey names an organisation: its subscriptions' entitlements, its plans'
// roles and its members, which give roles to every session that has it
// active.
func OrgKey(id string) string { return "o:" + id }

// APIKeyKey names one API key: its revocation.
func APIKeyKey(id string) string { return "k:" + id }

// NotificationsKey names a user's notifications and their unread count.
func NotificationsKey(userID string) string { return "n:" + userID }

// FollowersKey names the list of a user's followers.
func FollowersKey(userID string) string { return "f:" + userID }

// FollowingKey names the list of the users a user follows.
func FollowingKey(userID string) string { return "g:" + userID }

// ItemKey names an item's counters, featured window and hidden state.
func ItemKey(slug string) string { return "i:" + slug }

// EveryKey names everything: a role's permissions changed, which may touch
// any user.
const EveryKey = "*"
