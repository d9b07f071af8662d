/**
 * `POST /v4/desk_upload/robot_document?sdkappid=…&identifier=<admin>&usersig=…&Name=<file name>[&RobotId=…]` with the
 * file as the body (up to 10 MB): a text, markdown, PDF or Word (.docx) document for the robot's document QA, read
 * by its name's ending. Answers the envelope (HTTP 200) as `desk_robot_doc_add` does.
 */
import type { TemplatedApp } from '@trufflesuite/uws-js-unofficial';
import { DEFAULT_ROBOT_ID, robotOf } from '../../protocol/app-model';
import { fail, ok, Service } from '../../protocol/rest/envelope';
import { documentText, DocumentUnreadable, formatOfName } from '../knowledge/document-text';
import { DocumentTooLarge, documentsFull, type RobotDocument } from '../knowledge/documents';
import { KnowledgeCode } from '../knowledge/knowledge-base';
import { receiveJson } from './body';
import type { FacadeDeps, HttpFacade } from './facade';

const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
/** The text a document may hold once read (a book's worth; its passages are kept in memory). */
const MAX_TEXT_CHARS = 500_000;

export function mountDocumentUpload(app: TemplatedApp, facade: HttpFacade, deps: FacadeDeps): void {
  app.post('/v4/desk_upload/robot_document', (res, req) => {
    const q = new URLSearchParams(req.getQuery() ?? '');
    receiveJson(res, deps.log, '/v4/desk_upload/robot_document', async (bytes) => {
      const admin = facade.admin(q, Service.Console);
      if ('ActionStatus' in admin) return admin;
      const a = admin.app;
      const name = q.get('Name') ?? '';
      const robotId = q.get('RobotId') ?? DEFAULT_ROBOT_ID;
      const format = formatOfName(name);
      if (name.length < 1 || name.length > 200 || !format) return fail(KnowledgeCode.BadParameter, 'Name must be a file name (1–200 characters) ending in .txt, .md, .pdf or .docx');
      if (!robotOf(a, robotId)) return fail(KnowledgeCode.ResourceInvalid, `no robot '${robotId}'`);
      if (!bytes) return fail(KnowledgeCode.BadParameter, `a document is at most ${MAX_UPLOAD_BYTES} bytes`);
      if (bytes.length === 0) return fail(KnowledgeCode.BadParameter, 'the document is empty');
      const full = documentsFull(deps.knowledge.documents, a.sdkAppId, robotId);
      if (full) return fail(KnowledgeCode.BadParameter, full);
      let text: string;
      try {
        text = await documentText(bytes, format);
      } catch (err) {
        if (err instanceof DocumentUnreadable) return fail(KnowledgeCode.BadParameter, err.message);
        throw err;
      }
      if (!text.trim()) return fail(KnowledgeCode.BadParameter, 'the document holds no text (a scanned PDF has only pictures)');
      if (text.length > MAX_TEXT_CHARS) return fail(KnowledgeCode.BadParameter, `a document holds at most ${MAX_TEXT_CHARS} characters of text`);
      let added: Promise<RobotDocument>;
      try {
        added = deps.knowledge.documents.add(a.sdkAppId, robotId, name, format, text, deps.clock.now(), deps.sharedKnowledge?.maxRowBytes);
      } catch (err) {
        if (err instanceof DocumentTooLarge) return fail(KnowledgeCode.BadParameter, err.message);
        throw err;
      }
      const doc = await added;
      await deps.store.commit();
      await deps.sharedKnowledge?.share();
      return ok({ DocumentId: doc.id, Passages: doc.passages.length });
    }, MAX_UPLOAD_BYTES);
  });
}

