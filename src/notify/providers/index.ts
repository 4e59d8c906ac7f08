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
};

/** Types that set commit statuses: they take only events that name a commit. */
export const COMMIT_STATUS_NOTIFIERS = new Set(['github', 'gitlab', 'gitea', 'bitbucket', 'bitbucketserver', 'azuredevops']);

export type { Notifier, ProviderSettings, OutgoingRequest } from './types.ts';
