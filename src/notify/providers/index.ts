// The provider types Sluice delivers to, by spec.type.
import type { Notifier } from './types.ts';
import { generic } from './generic.ts';
import { genericHmac } from './generichmac.ts';
import { slack } from './slack.ts';
import { discord } from './discord.ts';
import { msteams } from './msteams.ts';
import { googlechat } from './googlechat.ts';
import { telegram } from './telegram.ts';
import { matrix } from './matrix.ts';
import { alertmanager } from './alertmanager.ts';
import { grafana } from './grafana.ts';
import { opsgenie } from './opsgenie.ts';
import { pagerduty } from './pagerduty.ts';
import { github } from './github.ts';
import { gitlab } from './gitlab.ts';
import { gitea } from './gitea.ts';
import { bitbucket } from './bitbucket.ts';
import { bitbucketserver } from './bitbucketserver.ts';
import { azuredevops } from './azuredevops.ts';
import { rocket } from './rocket.ts';
import { webex } from './webex.ts';
import { lark } from './lark.ts';
import { zulip } from './zulip.ts';
import { datadog } from './datadog.ts';
import { sentry } from './sentry.ts';
import { githubdispatch } from './githubdispatch.ts';
import { githubpullrequestcomment, gitlabmergerequestcomment, giteapullrequestcomment } from './changerequest.ts';
import { nats } from './nats.ts';
import { azureeventhub } from './azureeventhub.ts';
import { googlepubsub } from './googlepubsub.ts';
import { otel } from './otel.ts';

export const notifiers: Record<string, Notifier> = {
  generic,
  'generic-hmac': genericHmac,
  slack,
  discord,
  msteams,
  googlechat,
  telegram,
  matrix,
  alertmanager,
  grafana,
  opsgenie,
  pagerduty,
  github,
  gitlab,
  gitea,
  bitbucket,
  bitbucketserver,
  azuredevops,
  rocket,
  webex,
  lark,
  zulip,
  datadog,
  sentry,
  githubdispatch,
  githubpullrequestcomment,
  gitlabmergerequestcomment,
  giteapullrequestcomment,
  nats,
  azureeventhub,
  googlepubsub,
  otel,
};

/** Types that set commit statuses: they take only events that name a commit. */
export const COMMIT_STATUS_NOTIFIERS = new Set(['github', 'gitlab', 'gitea', 'bitbucket', 'bitbucketserver', 'azuredevops']);

/** Types that comment on a pull or merge request: they take only events whose metadata names one (change_request). */
export const CHANGE_REQUEST_NOTIFIERS = new Set(['githubpullrequestcomment', 'gitlabmergerequestcomment', 'giteapullrequestcomment']);

export type { Notifier, ProviderSettings, OutgoingRequest } from './types.ts';
