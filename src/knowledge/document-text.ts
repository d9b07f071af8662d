/**
 * The text of an uploaded document: UTF-8 text and markdown as they are, PDF through pdf-parse, Word (.docx) through
 * mammoth (both loaded when first needed: they are large, and most servers never read a PDF). A file that is not
 * what its name says is refused with the reason.
 */

export type UploadFormat = 'txt' | 'md' | 'pdf' | 'docx';

export class DocumentUnreadable extends Error {}

/** The format a file name says, if it is one this server reads. */
export function formatOfName(name: string): UploadFormat | undefined {
  const ext = /\.([a-z]+)$/i.exec(name)?.[1]?.toLowerCase();
  if (ext === 'txt' || ext === 'text') return 'txt';
  if (ext === 'md' || ext === 'markdown') return 'md';
  return ext === 'pdf' || ext === 'docx' ? ext : undefined;
}

export async function documentText(bytes: Buffer, format: UploadFormat): Promise<string> {
  switch (format) {
    case 'txt':
    case 'md': {
      const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
      try {
        return text.decode(bytes);
      } catch {
        throw new DocumentUnreadable('the file is not UTF-8 text');
      }
    }
    case 'pdf': {
      if (bytes.subarray(0, 5).toString('latin1') !== '%PDF-') throw new DocumentUnreadable('the file is not a PDF');
      const { PDFParse } = await import('pdf-parse');
      const pdf = new PDFParse({ data: new Uint8Array(bytes) });
      try {
        // pdf-parse marks page ends with "-- n of m --" lines; they are not the document's words.
        return (await pdf.getText()).text.replace(/^-- \d+ of \d+ --$/gm, '');
      } catch (err) {
        throw new DocumentUnreadable(`the PDF cannot be read: ${(err as Error).message}`);
      } finally {
        await pdf.destroy();
      }
    }
    case 'docx':
      try {
        const mammoth = await import('mammoth');
        return (await mammoth.extractRawText({ buffer: bytes })).value;
      } catch (err) {
        throw new DocumentUnreadable(`the Word document cannot be read: ${(err as Error).message}`);
      }
  }
}
