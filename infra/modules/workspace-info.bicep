// Reads the workspace (customer) GUID of the Log Analytics workspace Warden queries, which may be
// an existing workspace in another resource group or subscription.
param workspaceName string

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: workspaceName
}

output customerId string = workspace.properties.customerId
output workspaceId string = workspace.id
