// An Event Grid custom topic that accepts only Entra-authenticated publishers (local/SAS auth
// disabled) over TLS 1.2+. Its system-assigned identity writes dead-letters for its subscriptions.
param location string
param tags object
param topicName string

@allowed([
  'EventGridSchema'
  'CloudEventSchemaV1_0'
])
param inputSchema string = 'EventGridSchema'

resource topic 'Microsoft.EventGrid/topics@2025-02-15' = {
  #checkov:skip=CKV_AZURE_193: Publishers are a Consumption Logic App and the Flex Consumption app, neither in a VNet, so the topic must accept public traffic; local auth is disabled, so every publish needs an Entra token with EventGrid Data Sender on this topic.
  name: topicName
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    inputSchema: inputSchema
    disableLocalAuth: true
    minimumTlsVersionAllowed: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

output name string = topic.name
output id string = topic.id
output endpoint string = topic.properties.endpoint
output principalId string = topic.identity.principalId
