package hearth

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"
)

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// randomUpper returns n random characters from [A-Z0-9].
func randomUpper(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}

// NewClusterID returns an EMR-style cluster id: "j-" and 13 upper-case
// alphanumerics.
func NewClusterID() string { return "j-" + randomUpper(13) }

// NewStepID returns an EMR-style step id: "s-" and 13 upper-case alphanumerics.
func NewStepID() string { return "s-" + randomUpper(13) }

// NewInstanceGroupID returns an EMR-style instance group id.
func NewInstanceGroupID() string { return "ig-" + randomUpper(13) }

// NewNodeID returns an EC2-style instance id: "i-" and 17 lower-case hex digits.
func NewNodeID() string {
	b := make([]byte, 9)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "i-" + hex.EncodeToString(b)[:17]
}

// NewSecret returns a random credential with the given prefix, 32 bytes of
// entropy, hex encoded.
func NewSecret(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return prefix + hex.EncodeToString(b)
}

var clusterIDPattern = regexp.MustCompile(`^j-[A-Z0-9]{1,64}$`)

// ValidClusterID reports whether id has the shape of a cluster id.
func ValidClusterID(id string) bool { return clusterIDPattern.MatchString(id) }

// ClusterARN returns the ARN Hearth gives a cluster. The account is fixed:
// Hearth is not AWS, but SDKs expect the shape.
func ClusterARN(region, id string) string {
	if region == "" {
		region = DefaultRegion
	}
	return "arn:aws:elasticmapreduce:" + region + ":" + AccountID + ":cluster/" + id
}

// AccountID is the fixed fake AWS account used in ARNs.
const AccountID = "000000000000"

// DefaultRegion is the region Hearth reports when none is configured.
const DefaultRegion = "us-east-1"
