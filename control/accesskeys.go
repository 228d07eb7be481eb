package control

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/hearthcluster/hearth"
)

// CreateAccessKey makes a new access key and returns it with its secret,
// which is stored only sealed and never shown again.
func (s *Server) CreateAccessKey(ctx context.Context, description string) (*hearth.AccessKey, string, error) {
	if len(description) > 256 {
		return nil, "", hearth.Invalid("description", fmt.Sprintf("%d characters", len(description)), "must be at most 256 characters")
	}
	secret := hearth.NewSecretAccessKey()
	sealed, err := s.seal([]byte(secret))
	if err != nil {
		return nil, "", err
	}
	k := &hearth.AccessKey{AccessKeyId: hearth.NewAccessKeyID(), Description: description, CreateDate: s.now().UTC(), SealedSecret: sealed}
	if err := s.store.PutAccessKey(ctx, k); err != nil {
		return nil, "", err
	}
	s.log.Info("access key created", "access_key_id", k.AccessKeyId)
	return k, secret, nil
}

// ListAccessKeys lists the access keys, without secrets.
func (s *Server) ListAccessKeys(ctx context.Context) ([]*hearth.AccessKey, error) {
	return s.store.AccessKeys(ctx)
}

// DeleteAccessKey removes an access key; requests signed with it fail from
// then on.
func (s *Server) DeleteAccessKey(ctx context.Context, id string) error {
	if err := s.store.DeleteAccessKey(ctx, id); err != nil {
		return err
	}
	s.log.Info("access key deleted", "access_key_id", id)
	return nil
}

// SecretFor returns the secret of access key id, for signature checks. An
// unknown key is ErrUnauthorized.
func (s *Server) SecretFor(ctx context.Context, id string) (string, error) {
	k, err := s.store.AccessKey(ctx, id)
	if errors.Is(err, hearth.ErrNotFound) {
		return "", fmt.Errorf("%w: unknown access key", hearth.ErrUnauthorized)
	}
	if err != nil {
		return "", err
	}
	b, err := s.open(k.SealedSecret)
	if err != nil {
		return "", fmt.Errorf("access key %s: %w", id, err)
	}
	return string(b), nil
}

func (s *Server) aead() (cipher.AEAD, error) {
	if len(s.cfg.MasterKey) != 32 {
		return nil, errors.New("control plane has no 32-byte master key")
	}
	block, err := aes.NewCipher(s.cfg.MasterKey)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func (s *Server) seal(plain []byte) ([]byte, error) {
	a, err := s.aead()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, a.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return a.Seal(nonce, nonce, plain, nil), nil
}

func (s *Server) open(sealed []byte) ([]byte, error) {
	a, err := s.aead()
	if err != nil {
		return nil, err
	}
	if len(sealed) < a.NonceSize() {
		return nil, errors.New("sealed secret too short")
	}
	return a.Open(nil, sealed[:a.NonceSize()], sealed[a.NonceSize():], nil)
}
