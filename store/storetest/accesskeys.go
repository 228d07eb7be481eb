package storetest

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
)

// newAccessKey returns a key created at created whose sealed secret is
// binary, as AES-GCM output is: zero bytes and bytes that are no UTF-8.
func newAccessKey(t *testing.T, description string, created time.Time) *hearth.AccessKey {
	t.Helper()
	k := &hearth.AccessKey{
		AccessKeyId:  hearth.NewAccessKeyID(),
		Description:  description,
		CreateDate:   created,
		SealedSecret: append([]byte{0x00, 0xff, 0xfe, 0x80, 0x00}, hearth.NewSecretAccessKey()...),
	}
	checkFilled(t, "access key", k)
	return k
}

func mustPutAccessKey(t *testing.T, s hearth.Store, k *hearth.AccessKey) {
	t.Helper()
	if err := s.PutAccessKey(t.Context(), k); err != nil {
		t.Fatalf("PutAccessKey %s: %v", k.AccessKeyId, err)
	}
}

func checkAccessKey(t *testing.T, got, want *hearth.AccessKey) {
	t.Helper()
	if got == nil {
		t.Fatalf("access key %s: got nil", want.AccessKeyId)
	}
	if d := sameJSON(got, want); d != "" {
		t.Errorf("access key %s differs:\n%s", want.AccessKeyId, d)
	}
	checkHidden(t, "access key "+want.AccessKeyId, got, want)
}

func testAccessKeyRoundTrip(t *testing.T, s hearth.Store) {
	ctx := t.Context()
	k := newAccessKey(t, "ci pipeline", epoch)
	mustPutAccessKey(t, s, k)
	bare := newAccessKey(t, "", epoch.Add(time.Second)) // no description
	mustPutAccessKey(t, s, bare)

	for _, want := range []*hearth.AccessKey{k, bare} {
		got, err := s.AccessKey(ctx, want.AccessKeyId)
		if err != nil {
			t.Fatalf("AccessKey %s: %v", want.AccessKeyId, err)
		}
		checkAccessKey(t, got, want)
		if !bytes.Equal(got.SealedSecret, want.SealedSecret) {
			t.Errorf("AccessKey %s: SealedSecret = %x, want %x", want.AccessKeyId, got.SealedSecret, want.SealedSecret)
		}
	}
	if got, err := s.AccessKey(ctx, "AKIAMISSING0000000000"); !errors.Is(err, hearth.ErrNotFound) {
		t.Errorf("AccessKey(missing) = %v, %v; want an error wrapping ErrNotFound", got, err)
	}
}

// testAccessKeysOrder: AccessKeys lists oldest first, whatever the order
// they were stored in, and never with their secrets.
func testAccessKeysOrder(t *testing.T, s hearth.Store) {
	ctx := t.Context()
	if got, err := s.AccessKeys(ctx); err != nil || len(got) != 0 {
		t.Fatalf("AccessKeys of an empty store = %d keys, %v; want none", len(got), err)
	}
	newest := newAccessKey(t, "newest", epoch.Add(2*time.Minute))
	oldest := newAccessKey(t, "oldest", epoch)
	middle := newAccessKey(t, "middle", epoch.Add(time.Minute))
	for _, k := range []*hearth.AccessKey{newest, oldest, middle} {
		mustPutAccessKey(t, s, k)
	}
	got, err := s.AccessKeys(ctx)
	if err != nil {
		t.Fatalf("AccessKeys: %v", err)
	}
	want := []*hearth.AccessKey{oldest, middle, newest}
	var gotIDs, wantIDs []string
	for i := range got {
		gotIDs = append(gotIDs, got[i].AccessKeyId)
	}
	for i := range want {
		wantIDs = append(wantIDs, want[i].AccessKeyId)
	}
	if !slices.Equal(gotIDs, wantIDs) {
		t.Fatalf("AccessKeys = %v, want %v (oldest first)", gotIDs, wantIDs)
	}
	for i, k := range got {
		if d := sameJSON(k, want[i]); d != "" {
			t.Errorf("AccessKeys[%d] differs:\n%s", i, d)
		}
		if len(k.SealedSecret) != 0 {
			t.Errorf("AccessKeys[%d] (%s) carries its sealed secret; the list must not", i, k.AccessKeyId)
		}
	}
}

// testAccessKeyDuplicate: storing a key under an id already used fails
// and leaves the stored key as it was.
func testAccessKeyDuplicate(t *testing.T, s hearth.Store) {
	k := newAccessKey(t, "original", epoch)
	mustPutAccessKey(t, s, k)
	dup := newAccessKey(t, "impostor", epoch.Add(time.Minute))
	dup.AccessKeyId = k.AccessKeyId
	if err := s.PutAccessKey(t.Context(), dup); err == nil {
		t.Fatal("PutAccessKey with an id already stored succeeded")
	}
	got, err := s.AccessKey(t.Context(), k.AccessKeyId)
	if err != nil {
		t.Fatalf("AccessKey: %v", err)
	}
	checkAccessKey(t, got, k)
	if all, err := s.AccessKeys(t.Context()); err != nil || len(all) != 1 {
		t.Errorf("AccessKeys = %d keys, %v; want 1", len(all), err)
	}
}

func testDeleteAccessKey(t *testing.T, s hearth.Store) {
	ctx := t.Context()
	gone := newAccessKey(t, "to delete", epoch)
	kept := newAccessKey(t, "to keep", epoch.Add(time.Minute))
	mustPutAccessKey(t, s, gone)
	mustPutAccessKey(t, s, kept)

	if err := s.DeleteAccessKey(ctx, gone.AccessKeyId); err != nil {
		t.Fatalf("DeleteAccessKey: %v", err)
	}
	if _, err := s.AccessKey(ctx, gone.AccessKeyId); !errors.Is(err, hearth.ErrNotFound) {
		t.Errorf("AccessKey after delete = %v, want an error wrapping ErrNotFound", err)
	}
	if err := s.DeleteAccessKey(ctx, gone.AccessKeyId); !errors.Is(err, hearth.ErrNotFound) {
		t.Errorf("DeleteAccessKey a second time = %v, want an error wrapping ErrNotFound", err)
	}
	if err := s.DeleteAccessKey(ctx, "AKIAMISSING0000000000"); !errors.Is(err, hearth.ErrNotFound) {
		t.Errorf("DeleteAccessKey(never stored) = %v, want an error wrapping ErrNotFound", err)
	}
	all, err := s.AccessKeys(ctx)
	if err != nil {
		t.Fatalf("AccessKeys: %v", err)
	}
	if len(all) != 1 || all[0].AccessKeyId != kept.AccessKeyId {
		t.Errorf("AccessKeys after delete = %d keys, want just %s", len(all), kept.AccessKeyId)
	}
	got, err := s.AccessKey(ctx, kept.AccessKeyId)
	if err != nil {
		t.Fatalf("AccessKey of the kept key: %v", err)
	}
	checkAccessKey(t, got, kept)
}
