// The provider types Sluice delivers to, by spec.type.
import type { Notifier } from './types.ts';
import { generic, genericHmac } from './generic.ts';
import { discord, slack } from './slack.ts';
import { googlechat, matrix, msteams, telegram } from './chat.ts';
import { alertmanager, grafana, opsgenie, pagerduty } from './incident.ts';
import { github } from './github.ts';
import { gitlab } from './gitlab.ts';
import { gitea } from './gitea.ts';
import { bitbucket, bitbucketserver } from './bitbucket.ts';
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
