/**
 * What the pipeline steps need from the outside world: object storage (S3), a place for
 * approval requests (DynamoDB), and time. The registry, the ONNX runtime and the artifact
 * inspector come through their own ports (registry/, serving/, registry/registration.ts).
 */

/** Objects by key in the artifact bucket. */
export interface ObjectStore {
  getBytes(key: string): Promise<Uint8Array>;
  /** The bytes, or undefined when there is no such object. */
  getBytesIfExists(key: string): Promise<Uint8Array | undefined>;
  putBytes(key: string, bytes: Uint8Array, contentType: string): Promise<void>;
}

/** A request for a person to approve or reject a candidate. */
export interface ApprovalRequest {
  /** Short id a person types (`mlops approve ID`). */
  readonly id: string;
  /** The Step Functions task token to answer. */
  readonly task_token: string;
  readonly model: string;
  readonly run_id: string;
  readonly summary: string;
  readonly requested_at: string;
}

export type ApprovalStatus = 'pending' | 'approved' | 'rejected';

export interface ApprovalRecord extends ApprovalRequest {
  readonly status: ApprovalStatus;
  readonly decided_by: string | null;
  readonly decided_at: string | null;
  readonly reason: string | null;
}

export interface ApprovalStore {
  create(request: ApprovalRequest): Promise<void>;
  get(id: string): Promise<ApprovalRecord | undefined>;
  /** Records a decision only while the request is pending; false when it was decided already. */
  decide(id: string, decision: { approved: boolean; by: string; reason: string; at: string }): Promise<boolean>;
}
