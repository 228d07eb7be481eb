package s3store

import (
	"testing"

	"github.com/versity/versitygw/auth"
)

// The gateway compares the lookup error with == (not errors.Is): an
// unknown key must get auth.ErrNoSuchUser itself, or the client sees an
// internal error instead of InvalidAccessKeyId.
func TestIAMServiceAccounts(t *testing.T) {
	s := &iamService{}
	s.set([]Account{{AccessKeyID: "AKIAONE", SecretAccessKey: "one"}})
	if a, err := s.GetUserAccount("AKIAONE"); err != nil || a.Secret != "one" || a.Role != auth.RoleAdmin {
		t.Errorf("GetUserAccount(AKIAONE) = %+v, %v; want the account as admin", a, err)
	}
	if _, err := s.GetUserAccount("AKIATWO"); err != auth.ErrNoSuchUser {
		t.Errorf("GetUserAccount(unknown) = %v; want auth.ErrNoSuchUser", err)
	}
	// A later set replaces the whole set: a deleted key stops working.
	s.set([]Account{{AccessKeyID: "AKIATWO", SecretAccessKey: "two"}})
	if _, err := s.GetUserAccount("AKIAONE"); err != auth.ErrNoSuchUser {
		t.Errorf("after the key set changed, AKIAONE still resolves: %v", err)
	}
	if missing, _ := s.ResolveAccounts([]string{"AKIAONE", "AKIATWO"}); len(missing) != 1 || missing[0] != "AKIAONE" {
		t.Errorf("ResolveAccounts = %v; want [AKIAONE]", missing)
	}
	if err := s.CreateAccount(auth.Account{Access: "x"}); err == nil {
		t.Error("CreateAccount succeeded; accounts are Hearth's to manage")
	}
	list, _ := s.ListUserAccounts()
	for _, a := range list {
		if a.Secret != "" {
			t.Errorf("ListUserAccounts shows a secret for %s", a.Access)
		}
	}
}
