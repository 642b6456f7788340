export function ConnectionBanner({ online }: { online: boolean }) {
  if (online) return null;
  return (
    <div className="banner" role="alert" data-testid="connection-banner">
      Lost connection to the Runyard server. Retrying; the page updates by itself when it is back.
    </div>
  );
}
