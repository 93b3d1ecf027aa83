// How users look in the API: users resources, and the service account behind a token that is not a user's.
import crypto from 'node:crypto';
import { type ResourceType, type View } from '../api/jsonapi.js';
import { principalOf, type Subject } from '../auth/subject.js';
import type { User } from './store.js';

export const userType: ResourceType = {
  type: 'users',
  attributes: ['username', 'email', 'avatar-url', 'is-service-account', 'is-site-admin', 'two-factor', 'v2-only', 'permissions'],
  selfLink: (v) => `/api/v2/users/${v.id}`,
  linkedRelationships: { 'authentication-tokens': (v) => `/api/v2/users/${v.id}/authentication-tokens` },
};

/**
 * The Gravatar address of the email, as Terraform Cloud gives every user (an image URL the browser
 * fetches; the server fetches nothing). Only the email's MD5 is in it, as with Gravatar anywhere.
 */
function avatarUrl(email: string): string {
  return `https://www.gravatar.com/avatar/${crypto.createHash('md5').update(email.trim().toLowerCase()).digest('hex')}?s=100&d=mm`;
}

/** A user as others see it; its email only to itself and the site administrator. */
export function presentUser(user: User, subject: Subject): View {
  const self = subject.kind === 'user' && subject.userId === user.id;
  const seesEmail = self || subject.kind === 'site-admin';
  return {
    id: user.id,
    username: user.username,
    email: seesEmail ? user.email : null,
    // The avatar's address holds the email's hash, which is as good as the email: for the same eyes.
    'avatar-url': seesEmail ? avatarUrl(user.email) : null,
    'is-service-account': false,
    'is-site-admin': false,
    'two-factor': { enabled: false, verified: false },
    'v2-only': true,
    permissions: { 'can-create-organizations': true, 'can-change-email': false, 'can-change-username': self, 'can-manage-user-tokens': self },
  };
}

/** The account behind a token that is not a user's: a service account, as Terraform Cloud shows them. */
export function presentServiceAccount(subject: Subject): View {
  const principal = principalOf(subject);
  const username = subject.kind === 'team' ? `api-team_${subject.teamName}` : principal.name;
  return {
    id: principal.type === 'users' ? principal.id : `user-api-${principal.id}`,
    username,
    email: null,
    // No email to draw from: Gravatar's default picture, keyed by the account's id.
    'avatar-url': avatarUrl(principal.id),
    'is-service-account': subject.kind !== 'site-admin',
    'is-site-admin': subject.kind === 'site-admin',
    'two-factor': { enabled: false, verified: false },
    'v2-only': true,
    permissions: { 'can-create-organizations': subject.kind === 'site-admin', 'can-change-email': false, 'can-change-username': false },
  };
}
