package store

import (
	"context"
)

// DocumentFile is one stored file of a deposited document: the file itself
// or its courtesy copy, with the size and SHA-256 recorded at deposit.
type DocumentFile struct {
	DocumentID, CaseID int64
	FileName, BlobKey  string
	Size               int64
	SHA256             string
	Copy               bool // the courtesy copy in the original format
}

// DocumentFiles lists the stored files of the documents whose id is
// greater than after, in id order, for at most limit documents (each
// document gives one or two files). It reads no content: `sceau storage
// verify` pages through every document with it.
func (s *Store) DocumentFiles(ctx context.Context, after int64, limit int) ([]DocumentFile, error) {
	var rows []struct {
		ID, CaseID, Size, CopySize int64
		FileName, BlobKey, SHA256  string
		CopyFileName, CopySHA256   string
		CopyBlobKey                *string
	}
	err := s.gorm(ctx).Table("documents").
		Select("id, case_id, size, copy_size, file_name, blob_key, sha256, copy_file_name, copy_sha256, copy_blob_key").
		Where("id > ?", after).Order("id").Limit(limit).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]DocumentFile, 0, len(rows))
	for _, r := range rows {
		out = append(out, DocumentFile{DocumentID: r.ID, CaseID: r.CaseID, FileName: r.FileName, BlobKey: r.BlobKey, Size: r.Size, SHA256: r.SHA256})
		if r.CopyBlobKey != nil {
			out = append(out, DocumentFile{DocumentID: r.ID, CaseID: r.CaseID, FileName: r.CopyFileName, BlobKey: *r.CopyBlobKey,
				Size: r.CopySize, SHA256: r.CopySHA256, Copy: true})
		}
	}
	return out, nil
}
