package main

import (
	"context"

	"sceau.fr/sceau/cmd/sceau/config"
	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/notify"
	"sceau.fr/sceau/portal/store"
	"sceau.fr/sceau/templates"
)

// noticeRenderers render the deposit and digest mails, with links to the
// portal's public URL.
func noticeRenderers(cfg *config.Config, tpl *templates.Set) store.NoticeRenderers {
	return notify.Renderer{Templates: tpl, PortalURL: cfg.Server.Portal.PublicURL}.Renderers()
}

// digestWorker queues the daily digest at the configured time; wake is
// called once mail is queued.
func digestWorker(cfg *config.Config, s *store.Store, wake func()) *notify.DigestWorker {
	hour, minute, _ := cfg.Notifications.DigestClock() // validated at load
	return &notify.DigestWorker{Store: s, Hour: hour, Minute: minute, Queued: wake}
}

func (l lazyAccounts) NotificationSettings(ctx context.Context, accountID int64) (model.NotificationSettings, error) {
	return with(l, func(s *store.Store) (model.NotificationSettings, error) {
		return s.NotificationSettings(ctx, accountID)
	})
}

func (l lazyAccounts) SaveNotificationSettings(ctx context.Context, set model.NotificationSettings) error {
	return do(l, func(s *store.Store) error { return s.SaveNotificationSettings(ctx, set) })
}

func (l lazyAccounts) Notices(ctx context.Context, accountID, before int64, limit int) ([]model.NoticeEntry, error) {
	return with(l, func(s *store.Store) ([]model.NoticeEntry, error) { return s.Notices(ctx, accountID, before, limit) })
}

func (l lazyAccounts) Search(ctx context.Context, accountID int64, text string) (*model.SearchResults, error) {
	return with(l, func(s *store.Store) (*model.SearchResults, error) { return s.Search(ctx, accountID, text) })
}
