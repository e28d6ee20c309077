// Log Analytics Reader for Warden's identity on ONE workspace (the one holding SecurityAlert,
// AzureActivity, AzureDiagnostics, AzureMetrics). Warden runs read-only KQL there.
param workspaceName string
param principalId string

var logAnalyticsReaderRoleId = '73c42c96-874c-492b-b04d-ab87d138a893'

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: workspaceName
}

resource workspaceReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(workspace.id, principalId, logAnalyticsReaderRoleId)
  scope: workspace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', logAnalyticsReaderRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'Warden: run detection KQL (SecurityAlert, AzureActivity, AzureDiagnostics, AzureMetrics) on this workspace only.'
  }
}
