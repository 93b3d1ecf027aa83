// One job's view of otfd, authenticated with its job token.
import crypto from 'node:crypto';
import { HttpError, type HttpClient } from './client.js';
import type { JobOutcome, JobSpec } from '../protocol/agent.js';

export class JobApi {
  constructor(
    private readonly http: HttpClient,
    readonly jobId: string,
    readonly token: string,
  ) {}

  private get base(): string {
    return `/api/agent/jobs/${this.jobId}`;
  }

  spec(): Promise<JobSpec> {
    return this.http.json<JobSpec>('GET', this.base, { token: this.token, retry: true });
  }

  /** False when the run no longer wants this job (canceled meanwhile). */
  async start(): Promise<boolean> {
    const res = await this.http.request('POST', `${this.base}/start`, { token: this.token, body: '{}', contentType: 'application/json', accept: [409] });
    return res.status === 200;
  }

  async putLog(offset: number, data: Buffer): Promise<{ length: number; gap: boolean }> {
    const res = await this.http.request('PUT', `${this.base}/logs?offset=${offset}`, {
      token: this.token,
      body: data,
      contentType: 'application/octet-stream',
      accept: [409],
      retry: true,
    });
    return { length: (JSON.parse(res.body.toString('utf8')) as { length: number }).length, gap: res.status === 409 };
  }

  async putArtifact(name: string, data: Buffer): Promise<void> {
    await this.http.request('PUT', `${this.base}/artifacts/${name}`, { token: this.token, body: data, contentType: 'application/octet-stream', retry: true });
  }

  getArtifact(name: string, file: string): Promise<boolean> {
    return this.http.download(`${this.base}/artifacts/${name}`, file, this.token);
  }

  async finish(outcome: JobOutcome): Promise<void> {
    try {
      await this.http.request('POST', `${this.base}/finish`, { token: this.token, body: JSON.stringify(outcome), contentType: 'application/json', retry: true });
    } catch (err) {
      // The token dies with the job: a 401 here means the job was already ended (a retried
      // finish whose first attempt got through, or a force-cancel).
      if (!(err instanceof HttpError && err.status === 401)) throw err;
    }
  }

  async downloadConfiguration(configurationVersionId: string, file: string): Promise<void> {
    if (!(await this.http.download(`/api/v2/configuration-versions/${configurationVersionId}/download`, file, this.token))) {
      throw new Error(`configuration version ${configurationVersionId} has no configuration`);
    }
  }

  /** Writes the workspace's current state to file; false when it has none. */
  async downloadCurrentState(workspaceId: string, file: string): Promise<boolean> {
    const res = await this.http.request('GET', `/api/v2/workspaces/${workspaceId}/current-state-version`, { token: this.token, accept: [404], retry: true });
    if (res.status === 404) return false;
    const doc = JSON.parse(res.body.toString('utf8')) as { data: { attributes: { 'hosted-state-download-url': string } } };
    return this.http.download(doc.data.attributes['hosted-state-download-url'], file, this.token);
  }

  /** Stores a new state version of the workspace, made by this run. */
  async uploadState(workspaceId: string, runId: string, state: Buffer): Promise<void> {
    const parsed = JSON.parse(state.toString('utf8')) as { serial: number; lineage: string };
    await this.http.request('POST', `/api/v2/workspaces/${workspaceId}/state-versions`, {
      token: this.token,
      contentType: 'application/vnd.api+json',
      retry: true,
      body: JSON.stringify({
        data: {
          type: 'state-versions',
          attributes: {
            serial: parsed.serial,
            lineage: parsed.lineage,
            md5: crypto.createHash('md5').update(state).digest('hex'),
            state: state.toString('base64'),
          },
          relationships: { run: { data: { type: 'runs', id: runId } } },
        },
      }),
    });
  }
}
