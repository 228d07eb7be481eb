package hearth

import (
	"crypto/rand"
	"time"
)

// AccessKey is an AWS-style credential pair for the EMR-compatible API and
// the native API. The secret is kept sealed (encrypted with the control
// plane's master key), never in the clear, and shown once at creation.
type AccessKey struct {
	AccessKeyId  string    `json:"AccessKeyId"`
	Description  string    `json:"Description,omitempty"`
	CreateDate   time.Time `json:"CreateDate"`
	SealedSecret []byte    `json:"-"`
}

const keyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
const secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// NewAccessKeyID returns an id shaped like AWS's: "AKIA" and 16 characters.
func NewAccessKeyID() string { return "AKIA" + randomFrom(keyAlphabet, 16) }

// NewSecretAccessKey returns a 40-character secret, like AWS's.
func NewSecretAccessKey() string { return randomFrom(secretAlphabet, 40) }

func randomFrom(alphabet string, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
