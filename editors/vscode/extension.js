// The llmw extension: .llmw highlighting comes from the grammar the manifest names; this starts
// `llmw lsp` (the `llmw.path` setting, default `llmw` on PATH) as the language server for every
// .llmw file, over standard input and output.
const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration('llmw').get('path') || 'llmw';
  const server = { command, args: ['lsp'] };
  client = new LanguageClient(
    'llmw',
    'llmw language server',
    { run: server, debug: server },
    { documentSelector: [{ scheme: 'file', language: 'llmw' }, { scheme: 'untitled', language: 'llmw' }] },
  );
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
