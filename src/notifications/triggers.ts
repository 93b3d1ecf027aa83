// The events a notification configuration can listen for, in Terraform Cloud's names. Shared by the
// domains that raise them (runs, assessments) and the notifications domain that delivers them.
export const NOTIFICATION_TRIGGERS = [
  'run:created',
  'run:planning',
  'run:needs_attention',
  'run:applying',
  'run:completed',
  'run:errored',
  'assessment:drifted',
  'assessment:failed',
  'assessment:check_failure',
] as const;

export type NotificationTrigger = (typeof NOTIFICATION_TRIGGERS)[number];

/** A finished health assessment of a workspace, as the assessments domain reports it for notifying. */
export interface AssessmentNotice {
  trigger: 'assessment:drifted' | 'assessment:failed' | 'assessment:check_failure';
  workspaceId: string;
  assessmentResultId: string;
  /** One line for people: "2 resources drifted", or the error. */
  message: string;
  at: Date;
}
