/**
 * The robot's documents (document QA; this server's additions to openim_console_http_svc): add a text or markdown
 * document, list them, delete one. A document's passages answer questions the FAQs do not (README, Robot).
 */
import { ok } from '../../protocol/rest/envelope';
import { extensions } from '../../protocol/rest/knowledge';
import { formatOfName } from '../knowledge/document-text';
import { documentsFull, type DocumentFormat } from '../knowledge/documents';
import { KnowledgeCode } from '../knowledge/knowledge-base';
import { consoleEndpoint, knowledgeChange, robotIdOf } from './console-common';
import { RestError, type Endpoint } from './facade';

const documentId = { type: 'string', min: 1, max: 64 } as const;

export const documentEndpoints: Endpoint[] = [
  consoleEndpoint('desk_robot_doc_add', {
    $$strict: true, RobotId: extensions.RobotId,
    Name: { type: 'string', min: 1, max: 200 },
    Format: { type: 'enum', values: ['txt', 'md'], optional: true },
    // A longer document is uploaded as a file (desk_upload/robot_document).
    Content: { type: 'string', min: 1, max: 20_000 },
  }, async (ctx) => {
    const b = ctx.body as { Name: string; Format?: DocumentFormat; Content: string };
    const format: DocumentFormat = b.Format ?? (formatOfName(b.Name) === 'md' ? 'md' : 'txt');
    const doc = await knowledgeChange(ctx, (kb, robotId) => {
      const full = documentsFull(kb.documents, ctx.app.sdkAppId, robotId);
      if (full) throw new RestError(KnowledgeCode.BadParameter, full);
      return kb.documents.add(ctx.app.sdkAppId, robotId, b.Name, format, b.Content, ctx.now);
    });
    return ok({ DocumentId: doc.id, Passages: doc.passages.length });
  }),

  consoleEndpoint('desk_robot_doc_list', { $$strict: true, RobotId: extensions.RobotId }, (ctx) => {
    const docs = ctx.deps.knowledge.documents.list(ctx.app.sdkAppId, robotIdOf(ctx));
    return ok({
      Total: docs.length,
      Documents: docs.map((d) => ({ DocumentId: d.id, Name: d.name, Format: d.format, Size: d.size, Passages: d.passages.length, AddTime: Math.floor(d.addedAt / 1000) })),
    });
  }),

  consoleEndpoint('desk_robot_doc_delete', { $$strict: true, RobotId: extensions.RobotId, DocumentId: documentId }, async (ctx) => {
    const removed = await knowledgeChange(ctx, (kb, robotId) => kb.documents.remove(ctx.app.sdkAppId, robotId, ctx.body.DocumentId as string));
    if (!removed) throw new RestError(KnowledgeCode.ResourceInvalid, `no document '${String(ctx.body.DocumentId)}'`);
    return ok();
  }),
];
